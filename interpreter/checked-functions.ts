/**
 * Replacements for the JSONata built-ins whose cost does not follow from the size of their
 * arguments, bound into every evaluation on JSONata's own path. Each behaves like the original
 * (same signature, same results) within its bounds and fails with a message beyond them:
 * - `$pad` and `$join` can build a string far larger than their arguments;
 * - JSONata's `$sort` copies its input at every step of the merge (quadratic) and `$distinct`
 *   compares every pair of items: both are re-implemented in n·log n and n;
 * - `$toMillis` with a picture parses through a regular expression that can take cubic time,
 *   so the timestamp's length is bounded;
 * - `$base64encode`/`$base64decode` use `Buffer` or `btoa`, which the workflow sandbox lacks: pure
 *   implementations with the same results;
 * - `$eval` is refused at submit time and replaced here by a function that fails, in case a
 *   reference to it reaches the evaluator anyway.
 */
import jsonata from 'jsonata';
import { EVALUATE_EXIT, EXPRESSION_LIMITS, isCallable, type JsonataBuiltin } from './expression-budget.js';

/** What JSONata passes as `this` to a function: `createSequence` builds one of its sequences. */
interface Focus {
  createSequence(): unknown[];
}

const isSequence = (value: unknown): boolean =>
  Array.isArray(value) && (value as unknown[] & { sequence?: unknown }).sequence === true;

/** A JSONata error: its code selects the message JSONata fills in. */
const jsonataError = (code: string, fields: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(code), { code, ...fields });

function tooLong(name: string, length: number): Error {
  return new Error(
    `$${name}: the result would be ${length} characters, larger than the ${EXPRESSION_LIMITS.textLength} a string may have`,
  );
}

function pad(str: string | undefined, width: number, char: string | undefined): string | undefined {
  if (str === undefined) return undefined;
  const fill = [...(char === undefined || char.length === 0 ? ' ' : char)];
  const target = Math.abs(Math.trunc(width));
  const missing = target - [...str].length;
  if (!(missing > 0)) return str;
  if (target > EXPRESSION_LIMITS.textLength) throw tooLong('pad', target);
  const padding =
    fill.length === 1
      ? (fill[0] as string).repeat(missing)
      : Array.from({ length: missing }, (_, i) => fill[i % fill.length]).join('');
  return width > 0 ? str + padding : padding + str;
}

function join(strs: string[] | undefined, separator: string | undefined): string | undefined {
  if (strs === undefined) return undefined;
  const sep = separator ?? '';
  const length = strs.reduce((sum, s) => sum + s.length, sep.length * Math.max(strs.length - 1, 0));
  if (length > EXPRESSION_LIMITS.textLength) throw tooLong('join', length);
  return strs.join(sep);
}

type Comparator = (a: unknown, b: unknown) => unknown;

/**
 * JSONata's merge sort with the same splits and the same comparator calls in the same order
 * (so even an inconsistent comparator gives the same answer), merging by index instead of
 * copying the rest of both halves at every step.
 */
async function sort(arr: unknown[] | undefined, comparator: Comparator | undefined): Promise<unknown[] | undefined> {
  if (arr === undefined) return undefined;
  if (arr.length <= 1) return arr;
  if (comparator === undefined) {
    const numbers = arr.every((v) => typeof v === 'number' && !Number.isNaN(v));
    if (!numbers && !arr.every((v) => typeof v === 'string')) throw jsonataError('D3070', { index: 1 });
    // Numbers or strings compared with ">" are totally ordered, so any stable sort agrees with
    // JSONata's merge sort; the engine's own needs no promise per comparison.
    return [...arr].sort((a, b) => ((a as number) > (b as number) ? 1 : (a as number) < (b as number) ? -1 : 0));
  }
  const merge = async (left: unknown[], right: unknown[]): Promise<unknown[]> => {
    const merged: unknown[] = [];
    let i = 0;
    let j = 0;
    while (i < left.length && j < right.length) {
      // As in JSONata: a truthy answer puts the right-hand item first.
      if (await comparator(left[i], right[j])) merged.push(right[j++]);
      else merged.push(left[i++]);
    }
    for (; i < left.length; i++) merged.push(left[i]);
    for (; j < right.length; j++) merged.push(right[j]);
    return merged;
  };
  const msort = async (items: unknown[]): Promise<unknown[]> => {
    if (items.length <= 1) return items;
    const middle = Math.floor(items.length / 2);
    const left = await msort(items.slice(0, middle));
    const right = await msort(items.slice(middle));
    return merge(left, right);
  };
  return msort(arr);
}

/** JSONata's equality of values (`=`, `$distinct`): same keys in any order, same items in order. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const keys = Object.getOwnPropertyNames(a).sort();
  const other = Object.getOwnPropertyNames(b).sort();
  if (keys.length !== other.length || keys.some((k, i) => k !== other[i])) return false;
  return keys.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A key equal values share (functions all share one; equality then decides). */
function bucketKey(value: unknown): string {
  if (value === undefined) return 'undefined';
  // The same key as below, without the replacer's cost (a replacer call per value is slow).
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return JSON.stringify(value);
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (isCallable(v)) return '\u0000function';
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        return Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        );
      }
      return v;
    }) ?? 'undefined'
  );
}

/** JSONata's `$distinct` in linear time: items grouped by a canonical key, then compared within a group. */
function distinct(this: Focus, arr: unknown): unknown {
  if (arr === undefined) return undefined;
  if (!Array.isArray(arr) || arr.length <= 1) return arr;
  const results = isSequence(arr) ? this.createSequence() : [];
  const groups = new Map<string, unknown[]>();
  for (const value of arr as unknown[]) {
    const key = bucketKey(value);
    const group = groups.get(key);
    if (group?.some((seen) => deepEqual(value, seen))) continue;
    if (group) group.push(value);
    else groups.set(key, [value]);
    results.push(value);
  }
  return results;
}

/**
 * The original of a built-in, read from JSONata itself: evaluating `$name` yields it, and the
 * exit hook sees that value as soon as the expression's one node is evaluated, before the first
 * promise settles. Read once, when first needed.
 */
function original(name: string): JsonataBuiltin {
  let found: unknown;
  const probe = jsonata(`$${name}`);
  probe.assign(EVALUATE_EXIT as unknown as string, (_expr: unknown, _input: unknown, _env: unknown, value: unknown) => {
    found = value;
  });
  void probe.evaluate(undefined).catch(() => undefined);
  if (!isCallable(found) || typeof (found as { implementation?: unknown }).implementation !== 'function') {
    throw new Error(`$${name} is not available: JSONata's built-in could not be read`);
  }
  return found as JsonataBuiltin;
}

let originalToMillis: JsonataBuiltin | undefined;

function toMillis(this: Focus, timestamp: string | undefined, picture: string | undefined): unknown {
  if (timestamp !== undefined && picture !== undefined && timestamp.length > EXPRESSION_LIMITS.dateText) {
    throw new Error(
      `$toMillis: a timestamp parsed with a picture may have at most ${EXPRESSION_LIMITS.dateText} characters, got ${timestamp.length}`,
    );
  }
  originalToMillis ??= original('toMillis');
  return originalToMillis.implementation.apply(this, [timestamp, picture]);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((char, i) => [char, i]));
BASE64_VALUE.set('-', 62).set('_', 63);

/**
 * `$base64encode` without `Buffer` or `btoa`, which the workflow sandbox lacks: JSONata's own
 * encodes each character's low byte (Node's "binary"), so does this, in pure code.
 */
function base64encode(str: string | undefined): string | undefined {
  if (str === undefined) return undefined;
  let out = '';
  for (let i = 0; i < str.length; i += 3) {
    const [a, b, c] = [str.charCodeAt(i) & 0xff, str.charCodeAt(i + 1) & 0xff, str.charCodeAt(i + 2) & 0xff];
    const n = (a << 16) | (i + 1 < str.length ? b << 8 : 0) | (i + 2 < str.length ? c : 0);
    out += BASE64.charAt((n >> 18) & 63) + BASE64.charAt((n >> 12) & 63);
    out += i + 1 < str.length ? BASE64.charAt((n >> 6) & 63) : '=';
    out += i + 2 < str.length ? BASE64.charAt(n & 63) : '=';
  }
  return out;
}

/**
 * `$base64decode` as Node's `Buffer.from(str, "base64").toString("binary")` answers: characters
 * outside the alphabet are skipped, URL-safe `-`/`_` accepted, decoding stops at `=`, and each
 * byte becomes one character.
 */
function base64decode(str: string | undefined): string | undefined {
  if (str === undefined) return undefined;
  let out = '';
  let bits = 0;
  let count = 0;
  for (const char of str) {
    if (char === '=') break;
    const value = BASE64_VALUE.get(char);
    if (value === undefined) continue;
    bits = (bits << 6) | value;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += String.fromCharCode((bits >> count) & 0xff);
      bits &= (1 << count) - 1;
    }
  }
  return out;
}

function refusedEval(_expression: unknown, _focus: unknown): never {
  throw new Error('$eval is not available in expressions');
}

/** Binds the checked built-ins into a compiled expression; they shadow JSONata's own for every lookup. */
export function bindCheckedFunctions(expression: jsonata.Expression): void {
  // JSONata passes its focus (with createSequence) as `this`; its type declarations omit it.
  const bind = (name: string, implementation: (this: Focus, ...args: never[]) => unknown, signature: string) =>
    expression.registerFunction(
      name,
      implementation as unknown as (this: jsonata.Focus, ...args: unknown[]) => unknown,
      signature,
    );
  bind('pad', pad, '<s-ns?:s>');
  bind('join', join, '<a<s>s?:s>');
  bind('sort', sort, '<af?:a>');
  bind('distinct', distinct, '<x:x>');
  bind('toMillis', toMillis, '<s-s?:n>');
  bind('eval', refusedEval, '<sx?:x>');
  bind('base64encode', base64encode, '<s-:s>');
  bind('base64decode', base64decode, '<s-:s>');
}
