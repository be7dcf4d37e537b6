/**
 * Size limits of a definition. A definition is the input of every run of it (and of every
 * continue-as-new), so its size is bounded well below Temporal's 2 MB payload limit, and the
 * counts that the graph checks and the engine walk are bounded too. Checked before anything
 * else: a definition over a limit is refused with only these problems, because the other checks
 * cost time in proportion to its size.
 */
import { toPointer, type Problem } from './problems.js';

/**
 * The limits, documented in the README. `definitionBytes` is the UTF-8 size of the submitted
 * JSON: it leaves room, inside Temporal's 2 MB, for the defaults validation fills in and for the
 * run input that travels with the definition. `expressionChars` applies to every JSONata
 * expression, those inside `{{ }}` included; `stringChars` to every other string (templates and
 * prompts as a whole, literal inputs, descriptions), which only has to stay far from the byte limit.
 */
export const DEFINITION_LIMITS = {
  definitionBytes: 1_000_000,
  nodes: 500,
  edges: 2_000,
  variables: 500,
  expressionChars: 10_000,
  stringChars: 100_000,
} as const;

/** UTF-8 length of a string (what Temporal's JSON payload converter sends), without Node's Buffer. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair is one code point of four bytes; a lone surrogate is encoded as U+FFFD.
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      bytes += next >= 0xdc00 && next <= 0xdfff ? 4 : 3;
    } else bytes += 3;
  }
  return bytes;
}

/** 2000000 as "2,000,000"; by hand, so messages do not depend on the runtime's locale data. */
const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function countProblem(raw: Record<string, unknown>, field: 'nodes' | 'edges' | 'variables'): Problem[] {
  const list = raw[field];
  const limit = DEFINITION_LIMITS[field];
  if (!Array.isArray(list) || list.length <= limit) return [];
  return [{ path: `/${field}`, message: `at most ${count(limit)} ${field} (found ${count(list.length)})` }];
}

/** Every string (and object key) longer than `stringChars`, in document order. Iterative: raw input may nest deep. */
function longStrings(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const limit = DEFINITION_LIMITS.stringChars;
  const tooLong = (at: PropertyKey[], what: string, length: number) =>
    problems.push({
      path: toPointer(at),
      message: `${what} has at most ${count(limit)} characters (found ${count(length)})`,
    });
  const stack: Array<[unknown, PropertyKey[]]> = [[raw, []]];
  while (stack.length > 0) {
    const [value, at] = stack.pop() as [unknown, PropertyKey[]];
    if (typeof value === 'string') {
      if (value.length > limit) tooLong(at, 'a string', value.length);
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      // A key that long is reported at its object: a pointer holding it would be as long.
      for (const [key] of entries) if (key.length > limit) tooLong(at, 'a key', key.length);
      for (const [key, child] of entries.reverse())
        stack.push([child, [...at, Array.isArray(value) ? Number(key) : key]]);
    }
  }
  return problems;
}

/**
 * The limits an untrusted, not yet parsed definition breaks: its size, the number of nodes,
 * edges and variables, and the length of its strings. Empty when it respects them all (or is
 * not even an object, which the schema reports).
 */
export function sizeProblems(raw: unknown): Problem[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const problems: Problem[] = [];
  let text: string | undefined;
  try {
    text = JSON.stringify(raw);
  } catch {
    // Not JSON (a cycle, a bigint): not from the wire, and the schema refuses it anyway.
  }
  const bytes = text === undefined ? 0 : utf8Length(text);
  if (bytes > DEFINITION_LIMITS.definitionBytes) {
    problems.push({
      path: '',
      message: `the definition is at most ${count(DEFINITION_LIMITS.definitionBytes)} bytes of JSON (found ${count(bytes)})`,
    });
  }
  const record = raw as Record<string, unknown>;
  problems.push(
    ...countProblem(record, 'nodes'),
    ...countProblem(record, 'edges'),
    ...countProblem(record, 'variables'),
  );
  problems.push(...longStrings(raw));
  return problems;
}

/** Expressions longer than `expressionChars`, given every expression with its pointer. */
export function expressionLengthProblems(expressions: ReadonlyArray<readonly [string, string]>): Problem[] {
  const limit = DEFINITION_LIMITS.expressionChars;
  return expressions
    .filter(([, source]) => source.length > limit)
    .map(([path, source]) => ({
      path,
      message: `an expression has at most ${count(limit)} characters (found ${count(source.length)})`,
    }));
}
