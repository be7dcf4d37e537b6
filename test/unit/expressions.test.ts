/** Expressions and templates as a data table: expression, context, expected value or error. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  evaluate,
  expressionSyntaxError,
  isTruthy,
  renderTemplate,
  templateErrors,
} from '../../interpreter/expressions.js';

const context = {
  vars: { name: 'Ada', count: 3, tags: ['a', 'b'], customer: { tier: 'gold', spend: 1250.5 } },
  input: { name: 'Ada' },
  nodes: { fetch: { status: 'completed', output: { body: { items: [{ n: 1 }, { n: 2 }] } } } },
};

const templates: Array<{ template: unknown; output: unknown }> = [
  { template: 'plain text', output: 'plain text' },
  { template: '{{ vars.count }}', output: 3 },
  { template: '{{vars.customer}}', output: { tier: 'gold', spend: 1250.5 } },
  { template: 'Hello {{ vars.name }}!', output: 'Hello Ada!' },
  { template: '{{ vars.count }} items', output: '3 items' },
  { template: 'tags={{ vars.tags }}', output: 'tags=["a","b"]' },
  { template: 'missing=[{{ vars.nothing }}]', output: 'missing=[]' },
  { template: '{{ vars.nothing }}', output: undefined },
  {
    template: '{{ {"tier": vars.customer.tier, "n": $count(nodes.fetch.output.body.items)} }}',
    output: { tier: 'gold', n: 2 },
  },
  { template: '{{ "a}}b" }}', output: 'a}}b' },
  {
    template: { a: ['{{ vars.count + 1 }}', 'x'], b: { c: '{{ $sum(nodes.fetch.output.body.items.n) }}' } },
    output: { a: [4, 'x'], b: { c: 3 } },
  },
  { template: 42, output: 42 },
];

const expressions: Array<{ expression: string; output?: unknown; error?: RegExp }> = [
  { expression: 'vars.count * 2', output: 6 },
  { expression: 'vars.customer.spend > 1000 and vars.customer.tier = "gold"', output: true },
  { expression: 'nodes.fetch.output.body.items[n > 1].n', output: 2 },
  { expression: '$uppercase(input.name)', output: 'ADA' },
  { expression: 'vars.tags', output: ['a', 'b'] },
  { expression: '$string(1/0)', error: /failed/ },
];

describe('templates', () => {
  for (const row of templates) {
    test(`renders ${JSON.stringify(row.template)}`, async () => {
      assert.deepEqual(await renderTemplate(row.template, context), row.output);
    });
  }
  test('reports syntax errors with a pointer below the field', () => {
    assert.deepEqual(
      templateErrors({ ok: '{{ vars.a }}', list: ['x', 'bad {{ vars.( }}'], 'a/b': '{{ }}' }).map(([p]) => p),
      ['/list/1', '/a~1b'],
    );
    assert.match(templateErrors('{{ unclosed')[0]?.[1] ?? '', /unclosed/);
  });
});

describe('expressions', () => {
  for (const row of expressions) {
    test(row.expression, async () => {
      if (row.error) await assert.rejects(evaluate(row.expression, context), row.error);
      else assert.deepEqual(await evaluate(row.expression, context), row.output);
    });
  }
  test('syntax errors are found at submit time', () => {
    assert.equal(expressionSyntaxError('vars.a + 1'), undefined);
    assert.match(expressionSyntaxError('vars.a +') ?? '', /invalid JSONata expression/);
  });
  test('truthiness follows JSONata', () => {
    assert.deepEqual([true, 1, 'x', [0, 1], { a: 1 }].map(isTruthy), [true, true, true, true, true]);
    assert.deepEqual([false, 0, '', [], {}, null, undefined, [false]].map(isTruthy), [
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('hostile expressions fail cleanly, within bounds', () => {
  const hostile: Array<[string, RegExp]> = [
    ['($f := function($x){ $f($x) }; $f(1))', /evaluation steps/],
    ['($f := function($x){ $x > 0 ? $f($x + 1) : 0 }; $f(1))', /evaluation steps|stack/i],
    ['($f := function($x){ 1 + $f($x) }; $f(1))', /stack|depth|evaluation steps/i],
    ['[1..10000000]', /sequence length/],
    ['$pad("", 2000000, "x")', /larger than/],
    ['[1..90000].{"n": $, "s": "xxxxxxxxxxxxxxxxxxxx"}', /larger than|sequence|steps/],
  ];
  for (const [expression, error] of hostile) {
    test(expression, async () => {
      const started = Date.now();
      await assert.rejects(
        evaluate(expression, context),
        (err: unknown) => err instanceof Error && error.test(err.message),
      );
      assert.ok(Date.now() - started < 10_000);
    });
  }
  test('ordinary work well inside the bounds is unaffected', async () => {
    assert.equal(await evaluate('$count([1..50000])', context), 50000);
    assert.equal(await evaluate('$sum([1..500].($ * 2))', context), 250500);
  });
});
