/**
 * JSONata expressions and `{{ }}` templates. Evaluation is pure: the context is plain data
 * and JSONata's `$now()`/`$random()` are replay-safe inside Temporal's sandbox. Compiled
 * expressions are cached per source string because loops evaluate the same ones repeatedly.
 *
 * Expressions come from users and run inside the workflow sandbox, where one that hangs blocks
 * every run on the worker. So an expression is checked when it is compiled (allowed functions,
 * safe regular expressions: expression-safety.ts), and every evaluation on JSONata's own path
 * runs on a counted budget with bounded built-ins (expression-budget.ts, checked-functions.ts).
 */
import jsonata from 'jsonata';
import { bindCheckedFunctions } from './checked-functions.js';
import {
  ACTIVATION_LIMITS,
  Budget,
  EVALUATE_EXIT,
  EXPRESSION_LIMITS,
  SLICE_LIMITS,
  boundedRegExp,
  charge,
  isCallable,
  linearRegExp,
  measure,
  meterOf,
  nodeLimitPassed,
  yieldSlice,
  type WorkMeter,
} from './expression-budget.js';
import { astNodes, expressionSafetyError } from './expression-safety.js';
import { Decline, compileFast } from './fast-path.js';
import { isTruthy } from './truthiness.js';

export { EXPRESSION_LIMITS };

type Compiled = ReturnType<typeof jsonata> & { fast?: ReturnType<typeof compileFast> };

/** A failure to parse or evaluate an expression, with JSONata's own explanation. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
  }
}

const OPTIONS = { stack: EXPRESSION_LIMITS.depth, sequence: EXPRESSION_LIMITS.sequence };

/**
 * The AST nodes whose values are charged to the budget by size: what functions and operators
 * are handed (arguments, operands) and what they return (new strings and arrays included).
 * Paths and variables only refer to data, and cost one step each however large it is.
 */
function chargedNodes(ast: unknown): Set<object> {
  const charged = new Set<object>();
  for (const node of astNodes(ast)) {
    if (['function', 'partial', 'apply', 'binary', 'descendant', 'wildcard'].includes(node.type)) charged.add(node);
    if (node.type === 'function' || node.type === 'partial') for (const arg of node.arguments ?? []) charged.add(arg);
    if (node.type === 'apply' || node.type === 'binary') {
      for (const side of [node.lhs, node.rhs]) if (side && typeof side === 'object') charged.add(side);
    }
    if (node.type === 'unary' && node.expression) charged.add(node.expression);
  }
  return charged;
}

/**
 * A fresh evaluator with its own budget. JSONata keeps its hooks and functions in the
 * expression's environment, so sharing one across evaluations (activities run concurrently)
 * would share the count; parsing again is cheap next to evaluating. `afterStep` runs after every
 * counted step; JSONata awaits it, so a promise it returns suspends the evaluation there.
 */
function bounded(
  source: string,
  budget: Budget,
  legacyRegex: boolean,
  afterStep?: () => Promise<void> | undefined,
  beforeSearch?: () => void,
): Compiled {
  const RegexEngine = (legacyRegex
    ? boundedRegExp(budget)
    : linearRegExp(budget, beforeSearch)) as unknown as RegExpConstructor;
  const expression = jsonata(source, { ...OPTIONS, RegexEngine });
  const charged = chargedNodes(expression.ast());
  expression.assign(
    EVALUATE_EXIT as unknown as string,
    (node: object, _input: unknown, _env: unknown, value: unknown) => {
      budget.step();
      if (charged.has(node)) budget.handle(value);
      return afterStep?.();
    },
  );
  bindCheckedFunctions(expression);
  return expression;
}

/**
 * For a sliced run: charges each step to the run's meter as it happens and yields once the slice
 * is spent, so one evaluation never holds an activation for long (see SLICE_LIMITS). A failed
 * pause (the run was cancelled through Temporal) is kept in `interrupted`, to be rethrown as it is.
 */
function slicedSteps(
  meter: WorkMeter,
  budget: Budget,
  state: { counted: number; interrupted?: unknown },
): (() => Promise<void> | undefined) | undefined {
  const slices = meter.settings?.slices;
  if (!slices) return undefined;
  return () => {
    const units = (budget.used - state.counted) * ACTIVATION_LIMITS.slowStepUnits;
    state.counted = budget.used;
    meter.units += units;
    slices.used += units;
    const limit = nodeLimitPassed(meter.units - meter.nodeStart, slices);
    if (limit !== undefined) throw nodeTooLarge(limit);
    if (slices.used < SLICE_LIMITS.units) return undefined;
    return yieldSlice(slices).catch((err: unknown) => {
      state.interrupted = err;
      throw err;
    });
  };
}

/**
 * For a sliced run: one built-in call cannot be paused half-way, and `$match`, `$replace` or
 * `$split` search once per match; a call whose searches alone would hold the activation for
 * more than {@link SLICE_LIMITS}.callUnits fails instead.
 */
function searchGuard(meter: WorkMeter, budget: Budget, state: { counted: number }): (() => void) | undefined {
  const slices = meter.settings?.slices;
  if (!slices) return undefined;
  return () => {
    const pending = (budget.used - state.counted) * ACTIVATION_LIMITS.slowStepUnits;
    if (slices.used + pending > SLICE_LIMITS.callUnits) {
      throw new Error(
        `a regular-expression function searched too much in one call (more than ${SLICE_LIMITS.callUnits} work units); match shorter strings, or fewer times`,
      );
    }
  };
}

const nodeTooLarge = (units: number) =>
  new Error(
    `the node evaluated too much at once (more than ${units} work units); split the work over several nodes or move it into an activity`,
  );

const cache = new Map<string, Compiled>();

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err && typeof err.message === 'string') {
    const position = 'position' in err && typeof err.position === 'number' ? ` at position ${err.position}` : '';
    return `${err.message}${position}`;
  }
  return String(err);
}

function compile(source: string): Compiled {
  let compiled = cache.get(source);
  if (!compiled) {
    try {
      compiled = jsonata(source, OPTIONS);
      compiled.fast = compileFast(compiled.ast());
    } catch (err) {
      throw new ExpressionError(`invalid JSONata expression ${JSON.stringify(source)}: ${describe(err)}`, source);
    }
    const unsafe = expressionSafetyError(compiled.ast());
    if (unsafe) throw new ExpressionError(`expression ${JSON.stringify(source)} is not allowed: ${unsafe}`, source);
    cache.set(source, compiled);
  }
  return compiled;
}

/**
 * Returns a message when `source` is not valid JSONata or may not run (a function that is not
 * allowed, an unsafe regular expression: see expression-safety.ts), `undefined` when it may.
 * Validation calls it for every expression and template at submit time.
 */
export function expressionSyntaxError(source: string): string | undefined {
  try {
    compile(source);
    return undefined;
  } catch (err) {
    return err instanceof ExpressionError ? err.message : describe(err);
  }
}

/**
 * JSONata results may carry non-JSON extras (sequence flags, functions); runs keep plain JSON.
 * Functions become `undefined`, as JSON has them. The size is measured before serialising,
 * because a value built of shared parts can be exponentially larger written out than in memory.
 */
function toPlain(value: unknown, source: string): unknown {
  const limit = EXPRESSION_LIMITS.resultBytes;
  const tooLarge = () =>
    new ExpressionError(`expression ${JSON.stringify(source)}: the result is larger than ${limit} bytes`, source);
  if (isCallable(value)) return undefined;
  if (typeof value === 'string' && value.length > limit) throw tooLarge();
  if (value === undefined || value === null || typeof value !== 'object') return value;
  if (measure(value, new WeakMap(), limit) > limit) throw tooLarge();
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, item: unknown) => (isCallable(item) ? undefined : item));
  } catch (err) {
    throw new ExpressionError(`expression ${JSON.stringify(source)}: the result is not JSON: ${describe(err)}`, source);
  }
  if (text === undefined) return undefined;
  if (text.length > limit) throw tooLarge();
  return JSON.parse(text) as unknown;
}

/** Thrown by the synchronous evaluators when only JSONata's own (asynchronous) evaluator can answer. */
export class NeedsAsync extends Error {}

/**
 * Evaluates an expression synchronously when the fast path can (see fast-path.ts); throws
 * {@link NeedsAsync} otherwise. Hot paths use it to avoid promises, which are costly in
 * Temporal's workflow sandbox.
 */
export function evaluateSync(source: string, context: Record<string, unknown>): unknown {
  const compiled = compile(source);
  if (!compiled.fast) throw new NeedsAsync();
  try {
    charge(context, 1);
    return toPlain(compiled.fast(context), source);
  } catch (err) {
    throw err instanceof Decline ? new NeedsAsync() : err;
  }
}

/** {@link renderTemplate} without promises, or {@link NeedsAsync}. */
export function renderTemplateSync(value: unknown, context: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value;
    const parts = parseTemplate(value);
    const [only] = parts;
    if (parts.length === 1 && only && 'expression' in only) return evaluateSync(only.expression, context);
    return parts
      .map((part) => ('text' in part ? part.text : interpolated(evaluateSync(part.expression, context))))
      .join('');
  }
  if (Array.isArray(value)) return value.map((item) => renderTemplateSync(item, context));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderTemplateSync(item, context)]));
  }
  return value;
}

/** Evaluates a bare JSONata expression against the context. `undefined` means "no match". */
export async function evaluate(source: string, context: unknown): Promise<unknown> {
  const compiled = compile(source);
  if (compiled.fast && context && typeof context === 'object') {
    try {
      charge(context, 1);
      return toPlain(compiled.fast(context as Record<string, unknown>), source);
    } catch (err) {
      if (!(err instanceof Decline)) throw err;
    }
  }
  let value: unknown;
  const budget = new Budget();
  const meter = meterOf(context);
  const progress: { counted: number; interrupted?: unknown } = { counted: 0 };
  const afterStep = meter && slicedSteps(meter, budget, progress);
  const beforeSearch = meter && searchGuard(meter, budget, progress);
  try {
    value = await bounded(source, budget, meter?.settings?.legacyRegex === true, afterStep, beforeSearch).evaluate(
      context,
    );
  } catch (err) {
    // The pause failed (the run is being cancelled through Temporal): that error goes on as it is.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (progress.interrupted !== undefined) throw progress.interrupted;
    charge(context, (budget.used - progress.counted + 1) * ACTIVATION_LIMITS.slowStepUnits);
    throw new ExpressionError(`expression ${JSON.stringify(source)} failed: ${describe(err)}`, source);
  }
  const spent = charge(context, (budget.used - progress.counted + 1) * ACTIVATION_LIMITS.slowStepUnits);
  const slices = meter?.settings?.slices;
  const nodeUnits =
    afterStep && slices
      ? nodeLimitPassed(spent, slices)
      : spent > ACTIVATION_LIMITS.nodeUnits
        ? ACTIVATION_LIMITS.nodeUnits
        : undefined;
  if (nodeUnits !== undefined) {
    throw new ExpressionError(`expression ${JSON.stringify(source)}: ${nodeTooLarge(nodeUnits).message}`, source);
  }
  return toPlain(value, source);
}

export { isTruthy };

type TemplatePart = { text: string } | { expression: string };

/**
 * Splits a string into literal text and `{{ expression }}` parts. Braces and quotes inside an
 * expression are tracked so that object constructors such as `{{ {"a": {"b": 1}} }}` work.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let cursor = 0;
  while (cursor < template.length) {
    const open = template.indexOf('{{', cursor);
    if (open < 0) break;
    let depth = 0;
    let quote: string | undefined;
    let close = -1;
    for (let i = open + 2; i < template.length; i++) {
      const ch = template[i];
      if (quote) {
        if (ch === '\\') i++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
      else if (ch === '{') depth++;
      else if (ch === '}') {
        if (depth === 0 && template[i + 1] === '}') {
          close = i;
          break;
        }
        depth--;
      }
    }
    if (close < 0) throw new ExpressionError(`unclosed "{{" in template ${JSON.stringify(template)}`, template);
    if (open > cursor) parts.push({ text: template.slice(cursor, open) });
    const expression = template.slice(open + 2, close).trim();
    if (!expression) throw new ExpressionError(`empty "{{ }}" in template ${JSON.stringify(template)}`, template);
    parts.push({ expression });
    cursor = close + 2;
  }
  if (cursor < template.length) parts.push({ text: template.slice(cursor) });
  return parts;
}

function interpolated(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Renders a value that may hold templates: strings are rendered, arrays and objects are
 * walked. A string that is exactly one `{{ expr }}` yields the expression's typed value.
 */
export async function renderTemplate(value: unknown, context: unknown): Promise<unknown> {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value;
    const parts = parseTemplate(value);
    const [only] = parts;
    if (parts.length === 1 && only && 'expression' in only) return evaluate(only.expression, context);
    let out = '';
    for (const part of parts)
      out += 'text' in part ? part.text : interpolated(await evaluate(part.expression, context));
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) out.push(await renderTemplate(item, context));
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = await renderTemplate(item, context);
    return out;
  }
  return value;
}

/**
 * Checks every template inside a value; returns `[relative JSON Pointer, message]` pairs.
 * Used at submit time so that a syntax error is reported against the field that holds it.
 */
export function templateErrors(value: unknown, pointer = ''): Array<[string, string]> {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return [];
    try {
      const problems: Array<[string, string]> = [];
      for (const part of parseTemplate(value)) {
        if ('expression' in part) {
          const message = expressionSyntaxError(part.expression);
          if (message) problems.push([pointer, message]);
        }
      }
      return problems;
    } catch (err) {
      return [[pointer, describe(err)]];
    }
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => templateErrors(item, `${pointer}/${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => templateErrors(item, `${pointer}/${escapePointer(key)}`));
  }
  return [];
}

/** Escapes one JSON Pointer reference token (RFC 6901). */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
