/**
 * `execution: "local"` in the pure interpreter: which calls the engine marks local (and with
 * which timeout), and every case validation refuses, at the pointer of the field that asked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActivityPlan, WorkCommand } from '../../interpreter/commands.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask, simulate } from '../support/simulate.js';

const task = httpTask;
const ai = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'ai',
  model: 'gpt-4o-mini',
  prompt_template: 'hello',
  ...extra,
});

/** The plans of every call the engine issues, by node (map items: one entry per item). */
async function plans(raw: Record<string, unknown>): Promise<Array<[string, ActivityPlan]>> {
  const seen: Array<[string, ActivityPlan]> = [];
  const answer = (_call: unknown, _nth: number, command: WorkCommand) => {
    if ('plan' in command) seen.push([command.node, command.plan]);
    return { output: null };
  };
  const nodes = raw.nodes as Array<{ id: string }>;
  await simulate(raw, Object.fromEntries(nodes.map((n) => [n.id, answer])));
  return seen;
}

describe('local execution: the plan', () => {
  test('only calls that ask for local carry `local`, with a 10s default timeout', async () => {
    const seen = await plans({
      id: 'x',
      nodes: [task('a', { execution: 'local' }), task('b'), task('c', { execution: 'local', timeout: '30s' })],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    });
    assert.deepEqual(
      seen.map(([node, plan]) => [node, plan.local, plan.start_to_close_ms]),
      [
        ['a', true, 10_000],
        ['b', undefined, 300_000],
        ['c', true, 30_000],
      ],
    );
    // A plan of a call that never says local has no `local` key at all: its command is as before.
    assert.equal('local' in (seen[1]?.[1] ?? {}), false);
  });

  test('options.execution is the default of task nodes and task map bodies; a node may override it', async () => {
    const seen = await plans({
      id: 'x',
      options: { execution: 'local' },
      nodes: [
        task('a'),
        task('b', { execution: 'activity' }),
        { id: 'm', type: 'map', items: '[1, 2]', task: { connector: 'http', action: 'request', inputs: {} } },
        ai('model', { execution: 'activity' }),
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'm' },
        { from: 'm', to: 'model' },
      ],
    });
    assert.deepEqual(
      seen.map(([node, plan]) => [node, plan.local ?? false]),
      [
        ['a', true],
        ['b', false],
        ['m', true],
        ['m', true],
        ['model', false],
      ],
    );
  });
});

const refusals: Array<{ name: string; definition: Record<string, unknown>; problems: Array<[string, RegExp]> }> = [
  {
    name: 'an ai node',
    definition: { id: 'x', nodes: [ai('a', { execution: 'local', timeout: '5s' })] },
    problems: [['/nodes/0/execution', /ai call cannot run local.*heartbeat/]],
  },
  {
    name: 'an ai map body',
    definition: {
      id: 'x',
      nodes: [{ id: 'm', type: 'map', items: '[1]', ai: { model: 'm', prompt_template: 'p', execution: 'local' } }],
    },
    problems: [['/nodes/0/ai/execution', /ai call cannot run local/]],
  },
  {
    name: 'an ai node under options.execution',
    definition: { id: 'x', options: { execution: 'local' }, nodes: [ai('a')] },
    problems: [['/options/execution', /node "a" \(\/nodes\/0\).*ai call.*set "execution": "activity"/]],
  },
  {
    name: 'a timeout over 60s',
    definition: { id: 'x', nodes: [task('a', { execution: 'local', timeout: '2m' })] },
    problems: [['/nodes/0/execution', /at most 60s.*got 120s/]],
  },
  {
    name: 'a timeout over 60s on a task map body under options.execution',
    definition: {
      id: 'x',
      options: { execution: 'local' },
      nodes: [{ id: 'm', type: 'map', items: '[1]', task: { connector: 'http', action: 'request', timeout: 61_000 } }],
    },
    problems: [['/options/execution', /node "m" \(\/nodes\/0\/task\).*at most 60s/]],
  },
  {
    name: 'max_concurrency',
    definition: { id: 'x', nodes: [task('a', { execution: 'local', resource_limits: { max_concurrency: 2 } })] },
    problems: [['/nodes/0/execution', /max_concurrency or rate_per_second/]],
  },
  {
    name: 'rate_per_second',
    definition: { id: 'x', nodes: [task('a', { execution: 'local', resource_limits: { rate_per_second: 5 } })] },
    problems: [['/nodes/0/execution', /max_concurrency or rate_per_second/]],
  },
  {
    name: 'an unknown execution',
    definition: { id: 'x', nodes: [task('a', { execution: 'remote' })] },
    problems: [['/nodes/0/execution', /activity.*local/]],
  },
  {
    name: 'an unknown options.execution',
    definition: { id: 'x', options: { execution: 'auto' }, nodes: [task('a')] },
    problems: [['/options/execution', /activity.*local/]],
  },
  {
    name: 'execution on a node that makes no call',
    definition: { id: 'x', nodes: [{ id: 'a', type: 'set', assign: { v: '1' }, execution: 'local' }] },
    problems: [['/nodes/0', /execution/]],
  },
];

const accepted: Array<{ name: string; definition: Record<string, unknown> }> = [
  { name: 'a 60s timeout', definition: { id: 'x', nodes: [task('a', { execution: 'local', timeout: '60s' })] } },
  { name: 'cache', definition: { id: 'x', nodes: [task('a', { execution: 'local', cache: { ttl: '1m' } })] } },
  {
    name: 'memory_mb',
    definition: { id: 'x', nodes: [task('a', { execution: 'local', resource_limits: { memory_mb: 64 } })] },
  },
  {
    name: 'a compensation',
    definition: {
      id: 'x',
      nodes: [task('a', { execution: 'local', compensation: { connector: 'http', action: 'request', inputs: {} } })],
    },
  },
  { name: 'a long ai timeout as an activity', definition: { id: 'x', nodes: [ai('a', { timeout: '10m' })] } },
];

describe('local execution: validation', () => {
  for (const c of refusals) {
    test(`refuses local with ${c.name}`, () => {
      const result = validateDefinition(c.definition);
      assert.equal(result.ok, false, 'refused');
      if (result.ok) return;
      const found = result.problems.map((p) => [p.path, p.message]);
      for (const [path, message] of c.problems)
        assert.ok(
          found.some(([p, m]) => p === path && message.test(m ?? '')),
          `expected ${path} ~ ${message}, got ${JSON.stringify(found)}`,
        );
    });
  }
  for (const c of accepted) {
    test(`accepts local with ${c.name}`, () => {
      const result = validateDefinition(c.definition);
      assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.problems));
    });
  }
});
