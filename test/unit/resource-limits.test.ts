/**
 * `resource_limits` at submit: what is enforced (max_concurrency, rate_per_second and burst, per
 * concurrency_key; memory_mb) is accepted; what makes no sense (burst without a rate, rates out of
 * range, a memory_mb that is not a whole number of MB ≥ 1) is refused at its pointer, never
 * accepted and ignored. And the engine hands the workflow the limit with the key evaluated, and
 * the activity the memory_mb it reserves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from '../../interpreter/commands.js';
import { compileProgram, initialState, permitGranted, permitWaiting, startRun } from '../../interpreter/engine.js';
import { viewRunState } from '../../interpreter/run-state.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';

const task = (limits: Record<string, unknown>) => ({
  id: 'call',
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: 'http://x.test' },
  resource_limits: limits,
});
const ai = (limits: Record<string, unknown>) => ({
  id: 'ask',
  type: 'ai',
  model: 'gpt-4o-mini',
  prompt_template: 'hi',
  resource_limits: limits,
});
const map = (limits: Record<string, unknown>) => ({
  id: 'each',
  type: 'map',
  items: '[1,2]',
  task: { connector: 'http', action: 'request', inputs: { url: 'http://x.test' }, resource_limits: limits },
});

function problems(node: Record<string, unknown>): Array<{ path: string; message: string }> {
  const result = validateDefinition(
    { id: 'limits', variables: [{ name: 'customer', type: 'string' }], nodes: [node] },
    { http: ['request'] },
  );
  return result.ok ? [] : result.problems;
}

describe('resource_limits validation', () => {
  test('max_concurrency with a concurrency_key is accepted on task, ai and map bodies', () => {
    assert.deepEqual(problems(task({ max_concurrency: 2, concurrency_key: 'vars.customer' })), []);
    assert.deepEqual(problems(ai({ max_concurrency: 1 })), []);
    assert.deepEqual(problems(map({ max_concurrency: 3, concurrency_key: 'item' })), []);
  });

  test('rate_per_second (with or without max_concurrency, with a burst, keyed) is accepted on task, ai and map bodies', () => {
    assert.deepEqual(problems(task({ rate_per_second: 2 })), []);
    assert.deepEqual(problems(task({ rate_per_second: 0.5, burst: 3, concurrency_key: 'vars.customer' })), []);
    assert.deepEqual(problems(ai({ max_concurrency: 1, rate_per_second: 10 })), []);
    assert.deepEqual(problems(map({ rate_per_second: 2, burst: 2, concurrency_key: 'item' })), []);
  });

  for (const [field, limits, message] of [
    ['memory_mb', { memory_mb: 0 }, /too small|>=1/i],
    ['memory_mb', { memory_mb: 1.5 }, /int/i],
    ['memory_mb', { memory_mb: '64' }, /number/i],
    ['burst', { burst: 5 }, /burst needs rate_per_second/],
    ['burst', { rate_per_second: 1, burst: 0 }, /too small|>=1/i],
    ['burst', { rate_per_second: 1, burst: 1.5 }, /int/i],
    ['burst', { rate_per_second: 1, burst: 5000 }, /too big|<=1000/i],
    ['rate_per_second', { rate_per_second: 0 }, /too small|>=0.001/i],
    ['rate_per_second', { rate_per_second: -1 }, /too small|>=0.001/i],
    ['rate_per_second', { rate_per_second: 1000 }, /too big|<=100/i],
    ['rate_per_second', { rate_per_second: '2' }, /number/i],
  ] as const) {
    test(`${JSON.stringify(limits)} is refused at /resource_limits/${field}`, () => {
      const found = problems(task(limits));
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0]?.path, `/nodes/0/resource_limits/${field}`);
      assert.match(found[0]?.message ?? '', message);
      const inMap = problems(map({ max_concurrency: 1, ...limits }));
      assert.deepEqual(
        inMap.map((p) => p.path),
        [`/nodes/0/task/resource_limits/${field}`],
      );
      assert.deepEqual(
        problems(ai(limits)).map((p) => p.path),
        [`/nodes/0/resource_limits/${field}`],
      );
    });
  }

  test('memory_mb is accepted on task, ai and map bodies, alone or with other limits', () => {
    assert.deepEqual(problems(task({ memory_mb: 512 })), []);
    assert.deepEqual(problems(ai({ memory_mb: 64, max_concurrency: 2 })), []);
    assert.deepEqual(problems(map({ memory_mb: 40 })), []);
  });

  test('options.priority is 1 to 5', () => {
    const withPriority = (priority: unknown) => {
      const result = validateDefinition({ id: 'p', options: { priority }, nodes: [task({ max_concurrency: 1 })] });
      return result.ok ? [] : result.problems.map((p) => p.path);
    };
    for (const ok of [1, 3, 5]) assert.deepEqual(withPriority(ok), []);
    for (const bad of [0, 6, 2.5, 'high']) assert.deepEqual(withPriority(bad), ['/options/priority']);
  });

  test('concurrency_key needs max_concurrency or rate_per_second, and must parse', () => {
    const alone = problems(task({ concurrency_key: 'vars.customer' }));
    assert.deepEqual(
      alone.map((p) => p.path),
      ['/nodes/0/resource_limits/concurrency_key'],
    );
    assert.match(alone[0]?.message ?? '', /needs max_concurrency or rate_per_second/);
    const broken = problems(task({ max_concurrency: 1, concurrency_key: 'vars.(' }));
    assert.ok(broken.length >= 1);
    assert.ok(
      broken.every((p) => p.path === '/nodes/0/resource_limits/concurrency_key'),
      JSON.stringify(broken),
    );
  });

  test('a concurrency_key in a map body may use item; outside one it may not', () => {
    assert.deepEqual(problems(map({ max_concurrency: 1, concurrency_key: 'item' })), []);
    const outside = problems(task({ max_concurrency: 1, concurrency_key: 'item' }));
    assert.deepEqual(
      outside.map((p) => p.path),
      ['/nodes/0/resource_limits/concurrency_key'],
    );
  });
});

describe('resource_limits in the engine', () => {
  const start = async (raw: unknown, vars: Record<string, unknown>) => {
    const result = validateDefinition(raw);
    assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.problems));
    const definition = { ...result.definition, version: '1' };
    const state = initialState(
      { id: 'run-1', definition_id: definition.id, definition_version: '1', started_at: '2026-01-01T00:00:00Z' },
      {},
      vars,
    );
    const commands = await startRun(compileProgram(definition), state, '2026-01-01T00:00:00Z');
    return { definition, state, commands };
  };

  test('a limited task carries its limit and its key, evaluated in the node context', async () => {
    const { commands } = await start(
      {
        id: 'keyed',
        variables: [{ name: 'customer', type: 'number', default: 0 }],
        nodes: [task({ max_concurrency: 2, concurrency_key: 'vars.customer' })],
      },
      { customer: 42 },
    );
    const run = commands.find((c): c is Extract<Command, { type: 'run_activity' }> => c.type === 'run_activity');
    assert.deepEqual(run?.limit, { max_concurrency: 2, key: '42' });
  });

  test('a rate-limited task carries its rate (burst 1 by default) and its key', async () => {
    const { commands } = await start(
      {
        id: 'rated',
        variables: [{ name: 'customer', type: 'string', default: '' }],
        nodes: [task({ rate_per_second: 2, concurrency_key: 'vars.customer' })],
      },
      { customer: 'acme' },
    );
    const run = commands.find((c): c is Extract<Command, { type: 'run_activity' }> => c.type === 'run_activity');
    assert.deepEqual(run?.limit, { rate: { per_second: 2, burst: 1 }, key: 'acme' });
    const both = await start({ id: 'both', nodes: [task({ max_concurrency: 3, rate_per_second: 5, burst: 4 })] }, {});
    assert.deepEqual((both.commands[0] as Extract<Command, { type: 'run_activity' }>).limit, {
      max_concurrency: 3,
      rate: { per_second: 5, burst: 4 },
      key: null,
    });
  });

  test('map items get their own keys; an unlimited task has no limit', async () => {
    const { commands } = await start(
      {
        id: 'mapped',
        nodes: [
          { ...map({ max_concurrency: 1, concurrency_key: "'c' & item" }), items: '[1,2]' },
          { id: 'free', type: 'task', connector: 'http', action: 'request', inputs: { url: 'http://x.test' } },
        ],
      },
      {},
    );
    const runs = commands.filter((c): c is Extract<Command, { type: 'run_activity' }> => c.type === 'run_activity');
    assert.deepEqual(
      runs.map((c) => [c.node, c.limit]),
      [
        ['each', { max_concurrency: 1, key: 'c1' }],
        ['each', { max_concurrency: 1, key: 'c2' }],
        ['free', undefined],
      ],
    );
  });

  test('memory_mb reaches the activity call of a task, of each map item and of an ai node; none without it', async () => {
    const { commands } = await start(
      {
        id: 'weighed',
        nodes: [
          { ...map({ memory_mb: 40 }), items: '[1,2]' },
          { ...ai({ memory_mb: 64 }), id: 'ask' },
          { ...task({ memory_mb: 8 }), id: 'alone' },
          { ...task({ memory_mb: 16, max_concurrency: 1 }), id: 'limited' },
          { id: 'free', type: 'task', connector: 'http', action: 'request', inputs: { url: 'http://x.test' } },
        ],
      },
      {},
    );
    const calls = commands
      .filter(
        (c): c is Extract<Command, { type: 'run_activity' | 'run_ai' }> =>
          c.type === 'run_activity' || c.type === 'run_ai',
      )
      .map((c) => [c.node, c.call.memory_mb]);
    assert.deepEqual(calls, [
      ['each', 40],
      ['each', 40],
      ['ask', 64],
      ['alone', 8],
      ['limited', 16],
      ['free', undefined],
    ]);
    const free = commands.find((c) => c.type === 'run_activity' && c.node === 'free') as { call: object };
    assert.ok(
      !('memory_mb' in free.call),
      'a call without memory_mb carries no field (older histories stay as they were)',
    );
  });

  test('the state view shows an execution waiting for a permit as waiting, with key and place in line', async () => {
    const { definition, state, commands } = await start({ id: 'view', nodes: [task({ max_concurrency: 1 })] }, {});
    const exec = (commands[0] as { exec: string }).exec;
    const ids = { workflow_id: 'run-1', instance_id: 'i' };
    assert.equal(viewRunState(definition, state, ids).nodes.call?.status, 'running');
    permitWaiting(state, exec, null, '2026-01-01T00:00:01Z');
    const view = viewRunState(definition, state, ids, new Map([[exec, { key: null, position: 3 }]]));
    assert.equal(view.nodes.call?.status, 'waiting');
    assert.deepEqual(view.nodes.call?.permit, { key: null, position: 3, waiting: 1 });
    assert.equal(view.history.at(-1)?.note, 'waiting for a permit');
    permitGranted(state, exec, '2026-01-01T00:00:02Z');
    const granted = viewRunState(definition, state, ids);
    assert.equal(granted.nodes.call?.status, 'running');
    assert.equal(granted.nodes.call?.permit, undefined);
  });
});
