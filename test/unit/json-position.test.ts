/** Where a body stops being JSON: line, column and what was expected, for the gateway's 400 answer. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { jsonSyntaxPosition } from '../../src/shared/json-position.js';

const rows: Array<[text: string, line: number, column: number, expected: string]> = [
  ['{\n  "id": "x",\n  "nodes": [1,]\n}', 3, 15, 'a value (object, array, string, number, true, false or null)'],
  ['{"id": ', 1, 8, 'a value, but the body ends there'],
  ['{"a" 1}', 1, 6, '":"'],
  ['{a: 1}', 1, 2, 'a property name in double quotes'],
  ["{'a': 1}", 1, 2, 'a property name in double quotes'],
  ['[1, 2', 1, 6, '"," or "]", but the body ends there'],
  ['{"a": 1,}', 1, 9, 'a property name in double quotes'],
  ['{"a": "b\\q"}', 1, 9, 'a valid string (closed by ", with valid escapes, no raw control characters)'],
  ['{"a": 1} x', 1, 10, 'the end of the body'],
  ['{"a": 01}', 1, 8, '"," or "}"'],
  ['[[[[[[', 1, 7, 'a value or "]", but the body ends there'],
  ['{"nodes": [\n  {"id": "a"}\n  {"id": "b"}\n]}', 3, 3, '"," or "]"'],
];

test('the first offending character of invalid JSON, as a line and a column', () => {
  for (const [text, line, column, expected] of rows) {
    assert.throws(() => JSON.parse(text) as unknown, SyntaxError, text);
    const at = jsonSyntaxPosition(text);
    assert.deepEqual(
      at && { line: at.line, column: at.column, expected: at.expected },
      { line, column, expected },
      text,
    );
  }
});

test('valid JSON has no syntax position (every example definition, and edge cases)', () => {
  const texts = readdirSync('examples')
    .filter((f) => f.endsWith('.json'))
    .map((f) => readFileSync(`examples/${f}`, 'utf8'));
  texts.push('null', ' 1e-7 ', '"\\u00e9\\n"', '[]', '{}', '[[[[]]]]', '{"a":{"b":[true,false,null,-0.5]}}');
  for (const text of texts) {
    JSON.parse(text);
    assert.equal(jsonSyntaxPosition(text), undefined, text.slice(0, 60));
  }
});

test('a deeply nested body does not overflow the stack', () => {
  const at = jsonSyntaxPosition('['.repeat(1_000_000));
  assert.equal(at?.column, 1_000_001);
});
