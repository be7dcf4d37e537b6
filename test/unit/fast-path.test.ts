/**
 * The synchronous fast path must agree with JSONata exactly, or decline. Checked on a table of
 * edge cases and on generated expressions over generated inputs (seeded, reproducible).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import jsonata from 'jsonata';
import { Decline, compileFast } from '../../interpreter/fast-path.js';

async function reference(
  expression: string,
  input: Record<string, unknown>,
): Promise<{ value: unknown } | { error: true }> {
  try {
    const value: unknown = await jsonata(expression).evaluate(input);
    return { value: value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown) };
  } catch {
    return { error: true };
  }
}

/** Asserts the fast path agrees with JSONata; returns whether it answered (rather than declined). */
async function agrees(expression: string, input: Record<string, unknown>): Promise<boolean> {
  const fast = compileFast(jsonata(expression).ast());
  const expected = await reference(expression, input);
  if (!fast) return false;
  let value: unknown;
  try {
    value = fast(input);
  } catch (err) {
    assert.ok(err instanceof Decline, `${expression}: threw ${String(err)}`);
    return false;
  }
  assert.ok(
    'value' in expected,
    `${expression} on ${JSON.stringify(input)}: JSONata failed but the fast path gave ${JSON.stringify(value)}`,
  );
  const plain = value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
  assert.deepEqual(plain, expected.value, `${expression} on ${JSON.stringify(input)}`);
  return true;
}

const input = {
  vars: { i: 3, n: -2.5, s: 'ab', t: '', b: true, f: false, z: null, o: { k: 1 }, a: [1, 2], e: {} },
  nodes: { c: { output: true, status: 'completed' } },
};

describe('fast path', () => {
  const table = [
    'vars.i + 1',
    'vars.i - vars.n',
    'vars.i * 2',
    'vars.i / 4',
    'vars.i % 2',
    '-vars.n',
    'vars.missing + 1',
    'vars.i = 3',
    'vars.i != 3',
    'vars.s = "ab"',
    'vars.missing = 1',
    'vars.missing != 1',
    'vars.z = null',
    'vars.i < 4',
    'vars.s < "b"',
    'vars.missing < 1',
    'vars.i < "4"',
    'vars.i >= 3 and vars.b',
    'vars.f or vars.s',
    'vars.e or vars.t',
    'vars.o and true',
    'vars.s & "c"',
    'vars.missing & "x"',
    'vars.i & "x"',
    'vars.i < 5 ? "y" : "n"',
    'vars.f ? 1',
    'vars.o.k',
    'vars.o.k.deeper',
    'vars.a',
    'vars.a.x',
    'nodes.c.output',
    'vars.i / 0',
    '"s" + 1',
    'true',
    'null',
    'vars.s.length',
    'vars.b = true',
  ];
  for (const expression of table) {
    test(expression, async () => {
      await agrees(expression, input);
    });
  }

  test('answers the loop-shaped expressions without JSONata', async () => {
    for (const e of ['vars.i + 1', 'vars.i < 5000', 'nodes.c.output', 'vars.s & "x"'])
      assert.ok(await agrees(e, input), e);
  });

  test('generated expressions agree with JSONata', async () => {
    const leaf = fc.oneof(
      fc.constantFrom(
        'vars.i',
        'vars.n',
        'vars.s',
        'vars.t',
        'vars.b',
        'vars.f',
        'vars.z',
        'vars.o',
        'vars.a',
        'vars.missing',
        'vars.o.k',
      ),
      fc.integer({ min: -5, max: 5 }).map(String),
      fc.constantFrom('"a"', '""', 'true', 'false', 'null', '0.5'),
    );
    const expression = fc.letrec((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc
          .tuple(
            tie('expr'),
            fc.constantFrom('+', '-', '*', '/', '%', '=', '!=', '<', '<=', '>', '>=', 'and', 'or', '&'),
            tie('expr'),
          )
          .map(([a, op, b]) => `(${String(a)} ${op} ${String(b)})`),
        tie('expr').map((a) => `-(${String(a)})`),
        fc
          .tuple(tie('expr'), tie('expr'), tie('expr'))
          .map(([a, b, c]) => `(${String(a)} ? ${String(b)} : ${String(c)})`),
      ),
    })).expr;
    const vars = fc.record({
      i: fc.integer({ min: -10, max: 10 }),
      n: fc.double({ min: -100, max: 100, noNaN: true }),
      s: fc.string({ maxLength: 3 }),
      t: fc.constant(''),
      b: fc.boolean(),
      f: fc.boolean(),
      z: fc.constant(null),
      o: fc.record({ k: fc.integer() }),
      a: fc.array(fc.integer(), { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(expression, vars, async (e, v) => {
        await agrees(String(e), { vars: v });
      }),
      { seed: 20261125, numRuns: 600 },
    );
  });
});
