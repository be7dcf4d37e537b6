/**
 * Submit-time checks on a parsed JSONata expression that go beyond syntax: which functions it
 * may call, and whether its regular expressions can blow up. Expressions run inside Temporal's
 * workflow sandbox, where an expression that hangs blocks every run on the worker, so anything
 * that cannot be checked before the run starts is refused here.
 */
import { linearRegexError } from './expression-budget.js';
import { regexSafetyError } from './regex-safety.js';

/**
 * JSONata's built-in functions that expressions may call, reviewed one by one (JSONata 2.2).
 * No host (JavaScript) function is bound besides these (the README lists them too).
 * - All are pure functions of their arguments except `$now`, `$millis`, `$random` and
 *   `$shuffle`, which read the clock or `Math.random`. Inside the workflow sandbox both are
 *   deterministic (Temporal fixes the time per activation and seeds `Math.random` per run), so
 *   replay sees the same values; outside it (activities, the gateway) determinism does not matter.
 * - `$pad`, `$join`, `$sort`, `$distinct` and `$toMillis` run checked versions with bounds on
 *   their work (checked-functions.ts); `$match`, `$contains`, `$replace` and `$split` take
 *   regular expressions, which are checked here and bounded at run time (expression-budget.ts).
 * - `$clone` is also what the transform operator (`~> | … |`) copies its input with.
 */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregation and numbers
  ...['sum', 'count', 'max', 'min', 'average', 'number', 'abs', 'floor', 'ceil', 'round', 'power', 'sqrt'],
  ...['random', 'formatNumber', 'formatBase', 'formatInteger', 'parseInteger'],
  // strings
  ...['string', 'substring', 'substringBefore', 'substringAfter', 'lowercase', 'uppercase', 'length', 'trim'],
  ...['pad', 'contains', 'split', 'join', 'match', 'replace'],
  ...['base64encode', 'base64decode', 'encodeUrlComponent', 'encodeUrl', 'decodeUrlComponent', 'decodeUrl'],
  // booleans, arrays, objects, higher-order functions
  ...['boolean', 'not', 'exists', 'append', 'sort', 'reverse', 'shuffle', 'distinct', 'zip'],
  ...['keys', 'lookup', 'spread', 'merge', 'sift', 'each', 'error', 'assert', 'type', 'clone'],
  ...['map', 'filter', 'single', 'reduce'],
  // date and time
  ...['now', 'millis', 'fromMillis', 'toMillis'],
]);

/**
 * JSONata built-ins that expressions may not use at all, with the reason given to the user.
 * They are also replaced at run time (see checked-functions.ts), in case a reference slips by.
 */
export const REFUSED_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  [
    'eval',
    'it evaluates text as an expression while the run executes, out of reach of the checks made when the definition is submitted',
  ],
]);

/** Names an expression may not bind, because JSONata itself looks them up while evaluating. */
const RESERVED_BINDINGS: ReadonlyMap<string, string> = new Map([
  ['clone', 'the transform operator (~> | … |) copies its input with it, and must not be able to change data in place'],
]);

/** A JSONata AST node, with the fields these checks read. */
export interface AstNode {
  type: string;
  value?: unknown;
  procedure?: AstNode;
  lhs?: unknown;
  rhs?: AstNode;
  expression?: AstNode;
  arguments?: AstNode[];
  focus?: unknown;
  index?: unknown;
  [key: string]: unknown;
}

const isNode = (value: unknown): value is AstNode =>
  !!value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';

/** Every node of a JSONata AST, without recursion (a hostile expression can nest deeply). */
export function astNodes(ast: unknown): AstNode[] {
  const out: AstNode[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const value = stack.pop();
    if (!value || typeof value !== 'object' || value instanceof RegExp || seen.has(value)) continue;
    seen.add(value);
    if (isNode(value)) out.push(value);
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push(child);
  }
  return out;
}

/** The variables an expression binds: `$x := …`, lambda parameters, `@$x` and `#$i`. */
export function boundNames(nodes: AstNode[]): Set<string> {
  const names = new Set<string>();
  for (const node of nodes) {
    if (node.type === 'bind' && isNode(node.lhs) && typeof node.lhs.value === 'string') names.add(node.lhs.value);
    if (node.type === 'lambda') {
      for (const param of node.arguments ?? []) if (typeof param.value === 'string') names.add(param.value);
    }
    if (typeof node.focus === 'string') names.add(node.focus);
    if (typeof node.index === 'string') names.add(node.index);
  }
  return names;
}

function calleeProblem(callee: AstNode, bound: Set<string>): string | undefined {
  if (callee.type === 'variable' && typeof callee.value === 'string') {
    const name = callee.value;
    if (ALLOWED_FUNCTIONS.has(name) || bound.has(name) || REFUSED_FUNCTIONS.has(name)) return undefined;
    return `$${name}() is not a function expressions can call: only JSONata's built-in functions allowed by weft (see the README) and functions defined in the expression itself`;
  }
  if (callee.type === 'path' || callee.type === 'name') {
    return 'only functions named with $ can be called, not properties of data (like constructor(…))';
  }
  return undefined;
}

/**
 * Returns why a parsed expression (`jsonata(source).ast()`) may not run, or `undefined` when it
 * may: a refused built-in (like `$eval`), a call of a function that is neither an allowed
 * built-in nor defined in the expression, a call through a property path, rebinding `$clone`,
 * or a regular expression that could backtrack catastrophically.
 */
export function expressionSafetyError(ast: unknown): string | undefined {
  const nodes = astNodes(ast);
  const bound = boundNames(nodes);
  for (const name of bound) {
    const reason = RESERVED_BINDINGS.get(name);
    if (reason !== undefined) return `$${name} cannot be redefined: ${reason}`;
  }
  for (const node of nodes) {
    if (node.type === 'variable' && typeof node.value === 'string') {
      const reason = REFUSED_FUNCTIONS.get(node.value);
      if (reason !== undefined) return `$${node.value} is not available in expressions: ${reason}`;
    }
    const callee =
      node.type === 'function' || node.type === 'partial'
        ? node.procedure
        : node.type === 'apply' && node.rhs?.type === 'variable'
          ? node.rhs
          : undefined;
    const problem = callee && calleeProblem(callee, bound);
    if (problem) return problem;
    if (node.type === 'regex' && node.value instanceof RegExp) {
      // Every evaluation runs on RE2 (linear time): what it cannot run is refused here.
      const unsafe = regexSafetyError(node.value.source, node.value.flags) ?? linearRegexError(node.value);
      if (unsafe) return unsafe;
    }
  }
  return undefined;
}
