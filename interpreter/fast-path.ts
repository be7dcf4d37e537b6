/**
 * A synchronous evaluator for the simplest JSONata expressions: field paths, literals,
 * arithmetic, comparisons, `and`/`or`, `&` on strings and `? :`. Loops evaluate such
 * expressions on every iteration, and JSONata's own evaluator is asynchronous at every AST
 * node, which inside Temporal's sandbox costs far more than the expression itself.
 *
 * The rule: the fast path either gives exactly JSONata's answer or declines (returns
 * `DECLINE` at compile time, throws `Decline` at run time), and then JSONata evaluates the
 * expression as usual. A table test compares both on many expressions and inputs.
 */
import { isTruthy } from './truthiness.js';

/** Thrown when a value at run time is outside what the fast path reproduces exactly. */
export class Decline extends Error {}

type Fast = (input: Record<string, unknown>) => unknown;
interface AstNode {
  type: string;
  value?: unknown;
  steps?: AstNode[];
  lhs?: AstNode;
  rhs?: AstNode;
  expression?: AstNode;
  condition?: AstNode;
  then?: AstNode;
  else?: AstNode;
  [key: string]: unknown;
}

const STEP_EXTRAS = ['stages', 'predicate', 'group', 'focus', 'index', 'tuple', 'keepArray', 'consarray', 'ancestor'];

function decline(): never {
  throw new Decline();
}

const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function path(node: AstNode): Fast | undefined {
  const steps = node.steps ?? [];
  if (node.keepSingletonArray || steps.length === 0) return undefined;
  const names: string[] = [];
  for (const step of steps) {
    if (step.type !== 'name' || typeof step.value !== 'string') return undefined;
    if (STEP_EXTRAS.some((key) => step[key] !== undefined)) return undefined;
    names.push(step.value);
  }
  return (input) => {
    let current: unknown = input;
    for (const name of names) {
      if (current === undefined || current === null) return undefined;
      if (Array.isArray(current) || typeof current !== 'object') decline();
      current = Object.prototype.hasOwnProperty.call(current, name)
        ? (current as Record<string, unknown>)[name]
        : undefined;
    }
    if (Array.isArray(current)) decline();
    return current;
  };
}

function binary(node: AstNode): Fast | undefined {
  const lhs = node.lhs && compileAst(node.lhs);
  const rhs = node.rhs && compileAst(node.rhs);
  if (!lhs || !rhs) return undefined;
  switch (node.value) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%': {
      const op = node.value;
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        if (a === undefined || b === undefined) return undefined;
        if (typeof a !== 'number' || typeof b !== 'number') decline();
        const r = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
        return Number.isFinite(r) ? r : decline();
      };
    }
    case '=':
    case '!=': {
      const negate = node.value === '!=';
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        if (a === undefined || b === undefined) return false;
        if (!isScalar(a) || !isScalar(b)) decline();
        return negate ? a !== b : a === b;
      };
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const op = node.value;
      return (input) => {
        const a = lhs(input);
        const b = rhs(input);
        if (a === undefined || b === undefined) return undefined;
        const comparable =
          (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
        if (!comparable) decline();
        const [x, y] = [a as number, b as number];
        return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
      };
    }
    case 'and':
      return (input) => isTruthy(lhs(input)) && isTruthy(rhs(input));
    case 'or':
      return (input) => isTruthy(lhs(input)) || isTruthy(rhs(input));
    case '&':
      return (input) => {
        const parts = [lhs(input), rhs(input)].map((v) =>
          v === undefined ? '' : typeof v === 'string' ? v : decline(),
        );
        return parts.join('');
      };
    default:
      return undefined;
  }
}

function compileAst(node: AstNode): Fast | undefined {
  switch (node.type) {
    case 'number':
    case 'string':
    case 'value': {
      const value = node.value;
      return () => value;
    }
    case 'path':
      return path(node);
    case 'binary':
      return binary(node);
    case 'unary': {
      if (node.value !== '-' || !node.expression) return undefined;
      const inner = compileAst(node.expression);
      if (!inner) return undefined;
      return (input) => {
        const v = inner(input);
        if (v === undefined) return undefined;
        return typeof v === 'number' ? -v : decline();
      };
    }
    case 'condition': {
      const test = node.condition && compileAst(node.condition);
      const then = node.then && compileAst(node.then);
      const otherwise = node.else ? compileAst(node.else) : () => undefined;
      if (!test || !then || !otherwise) return undefined;
      return (input) => (isTruthy(test(input)) ? then(input) : otherwise(input));
    }
    default:
      return undefined;
  }
}

/** A synchronous evaluator for the expression's AST, or undefined when it is not simple enough. */
export function compileFast(ast: unknown): Fast | undefined {
  return ast && typeof ast === 'object' ? compileAst(ast as AstNode) : undefined;
}
