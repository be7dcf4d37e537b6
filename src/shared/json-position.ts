/**
 * Where a body stops being JSON, as a line and a column. Node's `JSON.parse` names a position for
 * some mistakes and not for others ("Unexpected token ']', … is not valid JSON"), and no direct
 * dependency parses JSON with positions, so this small scanner of the JSON grammar (RFC 8259)
 * finds the first offending character. It runs only on a body that already failed to parse, and
 * keeps its own stack so a deeply nested body cannot overflow the call stack.
 */

/** The first character that is not valid JSON, and what was expected there. */
export interface JsonSyntaxPosition {
  offset: number;
  line: number;
  column: number;
  expected: string;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERAL = /true|false|null/y;

type Expect = 'value' | 'value or ]' | 'key or }' | 'key' | ':' | 'after';

const EXPECTED: Record<Exclude<Expect, 'after'>, string> = {
  value: 'a value',
  'value or ]': 'a value or "]"',
  'key or }': 'a property name or "}"',
  key: 'a property name',
  ':': '":"',
};

/** Returns the end offset of a string starting at `i` (a `"`), or a negative `-(offset + 1)` of the fault. */
function scanString(text: string, i: number): number {
  for (let at = i + 1; at < text.length; at++) {
    const ch = text.charCodeAt(at);
    if (ch === 0x22) return at + 1;
    if (ch < 0x20) return -(at + 1);
    if (ch === 0x5c) {
      const next = text[at + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) return -(at + 1);
        at += 5;
      } else if (next === undefined || !'"\\/bfnrt'.includes(next)) return -(at + 1);
      else at++;
    }
  }
  return -(text.length + 1);
}

function position(text: string, offset: number, expected: string): JsonSyntaxPosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { offset, line, column: offset - before.lastIndexOf('\n'), expected };
}

/** The first syntax error of `text`, or `undefined` when it is valid JSON. */
export function jsonSyntaxPosition(text: string): JsonSyntaxPosition | undefined {
  const stack: string[] = [];
  let expect: Expect = 'value';
  let i = 0;
  const fail = (at: number, what: string) => position(text, at, what);
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
    const ch = text[i];
    if (expect === 'after' && stack.length === 0) return ch === undefined ? undefined : fail(i, 'the end of the body');
    if (ch === undefined) {
      const closing = expect === 'after' ? `"," or "${stack.at(-1) === '[' ? ']' : '}'}"` : EXPECTED[expect];
      return fail(i, `${closing}, but the body ends there`);
    }
    switch (expect) {
      case 'value or ]':
      case 'value':
        if (expect === 'value or ]' && ch === ']') {
          stack.pop();
          i++;
          expect = 'after';
        } else if (ch === '{' || ch === '[') {
          stack.push(ch);
          i++;
          expect = ch === '{' ? 'key or }' : 'value or ]';
        } else if (ch === '"') {
          const end = scanString(text, i);
          if (end < 0)
            return fail(-end - 1, 'a valid string (closed by ", with valid escapes, no raw control characters)');
          i = end;
          expect = 'after';
        } else {
          for (const pattern of [NUMBER, LITERAL]) {
            pattern.lastIndex = i;
            if (pattern.test(text)) {
              i = pattern.lastIndex;
              expect = 'after';
              break;
            }
          }
          if (expect !== 'after') return fail(i, 'a value (object, array, string, number, true, false or null)');
        }
        break;
      case 'key or }':
      case 'key':
        if (expect === 'key or }' && ch === '}') {
          stack.pop();
          i++;
          expect = 'after';
        } else if (ch === '"') {
          const end = scanString(text, i);
          if (end < 0) return fail(-end - 1, 'a valid string');
          i = end;
          expect = ':';
        } else return fail(i, 'a property name in double quotes');
        break;
      case ':':
        if (ch !== ':') return fail(i, '":"');
        i++;
        expect = 'value';
        break;
      case 'after': {
        const close = stack.at(-1) === '[' ? ']' : '}';
        if (ch === ',') {
          i++;
          expect = close === ']' ? 'value' : 'key';
        } else if (ch === close) {
          stack.pop();
          i++;
        } else return fail(i, `"," or "${close}"`);
        break;
      }
    }
  }
}
