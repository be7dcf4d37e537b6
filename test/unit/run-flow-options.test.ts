/**
 * Run-level flow control options at submit, as a table: what `options.max_concurrent_runs`,
 * `options.debounce` and `options.priority` accept, and the problem (at its JSON Pointer) for
 * what they do not. Also the keys at start and the priority mapping (`interpreter/run-limits.ts`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState } from '../../interpreter/engine.js';
import { keyAtStart, shownKey, temporalPriorityKey } from '../../interpreter/run-limits.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';

const base = {
  id: 'flow',
  variables: [
    { name: 'order_id', type: 'string' },
    { name: 'token', type: 'string', secret: true },
  ],
  nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
};

const cases: Array<{ name: string; options: Record<string, unknown>; problems: Array<[string, RegExp]> }> = [
  { name: 'a keyed limit', options: { max_concurrent_runs: 1, concurrency_key: 'input.order_id' }, problems: [] },
  { name: 'skip', options: { max_concurrent_runs: 2, on_limit: 'skip' }, problems: [] },
  { name: 'a priority', options: { priority: 5 }, problems: [] },
  { name: 'a keyed debounce', options: { debounce: '5s', concurrency_key: 'vars.order_id' }, problems: [] },
  { name: 'limit 0', options: { max_concurrent_runs: 0 }, problems: [['/options/max_concurrent_runs', />=1|1/]] },
  {
    name: 'a limit that is no integer',
    options: { max_concurrent_runs: 1.5 },
    problems: [['/options/max_concurrent_runs', /int/]],
  },
  {
    name: 'an unknown on_limit',
    options: { max_concurrent_runs: 1, on_limit: 'drop' },
    problems: [['/options/on_limit', /queue|skip/]],
  },
  {
    name: 'on_limit alone',
    options: { on_limit: 'skip' },
    problems: [['/options/on_limit', /needs options.max_concurrent_runs/]],
  },
  {
    name: 'concurrency_key alone',
    options: { concurrency_key: 'input.order_id' },
    problems: [['/options/concurrency_key', /needs options.max_concurrent_runs or options.debounce/]],
  },
  {
    name: 'a key that does not parse',
    options: { max_concurrent_runs: 1, concurrency_key: 'input.(' },
    problems: [['/options/concurrency_key', /./]],
  },
  {
    name: 'a key reading an undeclared input',
    options: { max_concurrent_runs: 1, concurrency_key: 'input.customer' },
    problems: [['/options/concurrency_key', /customer/]],
  },
  {
    name: 'a key reading a node (none has run at start)',
    options: { max_concurrent_runs: 1, concurrency_key: 'nodes.a.output' },
    problems: [['/options/concurrency_key', /"a"/]],
  },
  {
    name: 'a key reading item',
    options: { debounce: '1s', concurrency_key: 'item' },
    problems: [['/options/concurrency_key', /item/]],
  },
  { name: 'priority 6', options: { priority: 6 }, problems: [['/options/priority', /5/]] },
  { name: 'priority 2.5', options: { priority: 2.5 }, problems: [['/options/priority', /int/]] },
  { name: 'a window of 0', options: { debounce: 0 }, problems: [['/options/debounce', /longer than 0/]] },
  {
    name: 'a window that is no duration',
    options: { debounce: 'soon' },
    problems: [['/options/debounce', /duration/]],
  },
  { name: 'a window as an object', options: { debounce: { window: '1s' } }, problems: [['/options/debounce', /./]] },
];

for (const { name, options, problems } of cases) {
  test(`options: ${name}`, () => {
    const result = validateDefinition({ ...base, options });
    const found = result.ok ? [] : result.problems;
    assert.equal(found.length, problems.length, JSON.stringify(found));
    for (const [path, message] of problems) {
      const problem = found.find((p) => p.path === path);
      assert.ok(problem, `a problem at ${path}: ${JSON.stringify(found)}`);
      assert.match(problem.message, message);
    }
  });
}

test('a run-level key is evaluated over the start input; 42 and "42" are one key; null without one', async () => {
  const run = { id: 'r', definition_id: 'flow', definition_version: '1', started_at: '2026-01-01T00:00:00Z' };
  const state = (input: Record<string, unknown>) => initialState(run, input, input);
  assert.equal(await keyAtStart('input.order_id', state({ order_id: 42 })), '42');
  assert.equal(await keyAtStart('input.order_id', state({ order_id: '42' })), '42');
  assert.equal(await keyAtStart('input.order_id', state({})), null);
  assert.equal(await keyAtStart(undefined, state({ order_id: 'x' })), null);
  const keyed = (key: string) => ({ ...base, options: { concurrency_key: key } }) as never;
  assert.equal(shownKey(keyed('vars.token'), 'abc'), '***');
  assert.equal(shownKey(keyed('input.order_id'), 'abc'), 'abc');
});

test("weft's priority 5 (highest) is Temporal's priority key 1 (highest); the default 3 stays 3", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(temporalPriorityKey), [5, 4, 3, 2, 1]);
  assert.equal(temporalPriorityKey(undefined), 3);
});
