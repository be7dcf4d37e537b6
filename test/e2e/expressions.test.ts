/**
 * `POST /v1/expressions/evaluate` through a real gateway: the engine's evaluator with its
 * allow-list and budgets, as a table of `{ body, status, value | problem }`; the context limited
 * to the contract's names; the gateway still answers other requests while a costly expression
 * runs; and only editors may use it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer, createKey } from '../support/access.js';
import { pluck, startTestStack, type TestStack } from '../support/gateway.js';

const context = {
  vars: {
    order: {
      id: 'A-1',
      lines: [
        { qty: 2, price: 5 },
        { qty: 1, price: 10 },
      ],
    },
    name: 'Ada',
  },
  input: { region: 'eu' },
  nodes: { fetch: { output: { status: 200, body: { ok: true } }, status: 'completed' } },
  item: { sku: 'X' },
  index: 3,
  error: { type: 'HttpError', message: 'boom', node: 'fetch', attempt: 2 },
};

type Case =
  | { name: string; body: Record<string, unknown>; value: unknown; defined?: boolean }
  | { name: string; body: Record<string, unknown>; problem: [string, RegExp] };

const CASES: Case[] = [
  { name: 'arithmetic over vars', body: { expression: '$sum(vars.order.lines.(qty * price))', context }, value: 20 },
  { name: 'node outputs', body: { expression: 'nodes.fetch.output.body.ok', context }, value: true },
  { name: 'item, index, input', body: { expression: 'item.sku & index & input.region', context }, value: 'X3eu' },
  { name: 'error', body: { expression: 'error.type & "@" & error.node', context }, value: 'HttpError@fetch' },
  { name: 'no match', body: { expression: 'vars.nothing', context }, value: null, defined: false },
  { name: 'without a context', body: { expression: '1 + 1' }, value: 2 },
  { name: 'a typed template', body: { template: '{{ vars.order.lines }}', context }, value: context.vars.order.lines },
  { name: 'an interpolated template', body: { template: 'Hi {{ vars.name }}!', context }, value: 'Hi Ada!' },
  {
    name: 'templates in an object',
    body: { template: { url: 'https://x/{{ vars.order.id }}', n: '{{ index }}' }, context },
    value: { url: 'https://x/A-1', n: 3 },
  },
  { name: 'syntax error', body: { expression: 'vars.(', context }, problem: ['/expression', /invalid JSONata/] },
  { name: '$eval is refused', body: { expression: '$eval("1")' }, problem: ['/expression', /not allowed/] },
  {
    name: 'calling through a property',
    body: { expression: 'vars.constructor.constructor("return 1")()', context },
    problem: ['/expression', /not allowed/],
  },
  {
    name: 'a catastrophic regular expression',
    body: { expression: '$match("aaaa", /(a+)+$/)' },
    problem: ['/expression', /not allowed|nested/],
  },
  {
    name: 'the step budget',
    body: { expression: '$reduce([1..100000], function($a, $b) { $a + $b })' },
    problem: ['/expression', /step|budget|work units|too much/],
  },
  { name: '$error', body: { expression: '$error("nope")' }, problem: ['/expression', /nope/] },
  {
    name: 'a bad template',
    body: { template: { a: ['{{ vars.( }}'] } },
    problem: ['/template/a/0', /invalid JSONata/],
  },
  { name: 'an unclosed template', body: { template: 'x {{ vars.a' }, problem: ['/template', /unclosed/] },
  { name: 'both', body: { expression: '1', template: '{{ 1 }}' }, problem: ['', /exactly one of/] },
  { name: 'neither', body: { context }, problem: ['', /exactly one of/] },
  {
    name: 'a name the context does not have',
    body: { expression: '1', context: { run: { id: 'x' } } },
    problem: ['/context', /run/],
  },
  {
    name: 'a node status the language does not have',
    body: { expression: '1', context: { nodes: { a: { status: 'done' } } } },
    problem: ['/context/nodes/a/status', /./],
  },
  {
    name: 'an expression longer than a definition may hold',
    body: { expression: `"${'x'.repeat(10_001)}"` },
    problem: ['/expression', /at most 10000 characters/],
  },
];

describe('POST /v1/expressions/evaluate', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ worker: false });
  });
  after(async () => {
    await stack?.close();
  });

  test('evaluates as the engine does, or answers 400 naming the problem (never 500)', async () => {
    const wrong: string[] = [];
    for (const c of CASES) {
      const response = await stack.call('POST', '/v1/expressions/evaluate', c.body);
      if ('problem' in c) {
        const [path, message] = c.problem;
        const details = response.body?.error?.details ?? [];
        if (
          response.status !== 400 ||
          response.body.error.code !== 'validation_failed' ||
          !(pluck(details, 'path') as string[]).includes(path) ||
          !message.test(JSON.stringify(details))
        )
          wrong.push(`${c.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
      } else if (
        response.status !== 200 ||
        JSON.stringify(response.body) !== JSON.stringify({ value: c.value, defined: c.defined ?? true })
      )
        wrong.push(`${c.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('the gateway answers other requests while costly expressions are evaluated', async () => {
    // Each is refused by its budget in the end; meanwhile the event loop is given back between slices.
    const heavy = '$count($distinct([1..90000].($string($) & "x")))';
    const evaluations = Array.from({ length: 4 }, () =>
      stack.call('POST', '/v1/expressions/evaluate', { expression: heavy }),
    );
    const health = await stack.call('GET', '/healthz');
    assert.equal(health.status, 200);
    for (const response of await Promise.all(evaluations)) {
      assert.ok(response.status === 200 || response.status === 400, JSON.stringify(response.body).slice(0, 300));
    }
  });

  test('editors may evaluate; a viewer or an operator may not', async () => {
    const admin = await createKey(stack, 'admin', ['admin']);
    const roles = ['viewer', 'operator', 'editor'] as const;
    const statuses: number[] = [];
    for (const role of roles) {
      const key = await createKey(stack, role, [role], { adminKey: admin });
      statuses.push((await stack.call('POST', '/v1/expressions/evaluate', { expression: '1' }, bearer(key))).status);
    }
    assert.deepEqual(statuses, [403, 403, 200]);
  });
});
