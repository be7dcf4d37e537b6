/**
 * JSONata expressions and `{{ }}` templates. Evaluation is pure: the context is plain data
 * and JSONata's `$now()`/`$random()` are replay-safe inside Temporal's sandbox. Compiled
 * expressions are cached per source string because loops evaluate the same ones repeatedly.
 */
import jsonata from 'jsonata';
import { Decline, compileFast } from './fast-path.js';
import { isTruthy } from './truthiness.js';

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

/**
 * Bounds on one evaluation, so a hostile or careless expression fails its node instead of
 * hanging the worker: recursion depth, length of any sequence built, evaluation steps (counted
 * deterministically: inside the workflow sandbox the clock does not move, so a time limit would
 * never fire), and the size of the result. Documented in the README.
 */
export const EXPRESSION_LIMITS = { depth: 200, sequence: 100_000, steps: 5_000, resultBytes: 1_000_000 } as const;

const ENTRY = Symbol.for('jsonata.__evaluate_entry');
const OPTIONS = { stack: EXPRESSION_LIMITS.depth, sequence: EXPRESSION_LIMITS.sequence };

/**
 * A fresh evaluator with its own step counter. JSONata keeps the hook in the expression's
 * environment, so sharing one across evaluations (activities run concurrently) would share the
 * count; parsing again is cheap next to evaluating.
 */
function bounded(source: string): Compiled {
  const expression = jsonata(source, OPTIONS);
  let steps = 0;
  expression.assign(ENTRY as unknown as string, () => {
    if (++steps > EXPRESSION_LIMITS.steps) {
      throw new Error(`the expression took more than ${EXPRESSION_LIMITS.steps} evaluation steps`);
    }
  });
  return expression;
}

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
    cache.set(source, compiled);
  }
  return compiled;
}

/** Returns a message when `source` is not valid JSONata, `undefined` when it is. */
export function expressionSyntaxError(source: string): string | undefined {
  try {
    compile(source);
    return undefined;
  } catch (err) {
    return err instanceof ExpressionError ? err.message : describe(err);
  }
}

/** JSONata results may carry non-JSON extras (sequence flags, functions); runs keep plain JSON. */
function toPlain(value: unknown, source: string): unknown {
  const tooLarge = () =>
    new ExpressionError(
      `expression ${JSON.stringify(source)}: the result is larger than ${EXPRESSION_LIMITS.resultBytes} bytes`,
      source,
    );
  if (typeof value === 'string' && value.length > EXPRESSION_LIMITS.resultBytes) throw tooLarge();
  if (value === undefined || value === null || typeof value !== 'object') return value;
  const text = JSON.stringify(value);
  if (text.length > EXPRESSION_LIMITS.resultBytes) throw tooLarge();
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
      return toPlain(compiled.fast(context as Record<string, unknown>), source);
    } catch (err) {
      if (!(err instanceof Decline)) throw err;
    }
  }
  let value: unknown;
  try {
    value = await bounded(source).evaluate(context);
  } catch (err) {
    throw new ExpressionError(`expression ${JSON.stringify(source)} failed: ${describe(err)}`, source);
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
