/**
 * `resource_limits` at submit: what is enforced (max_concurrency, per concurrency_key) is
 * accepted; what is not (rate_per_second, burst, memory_mb) is refused at its pointer, never
 * accepted and ignored. And the engine hands the workflow the limit with the key evaluated.
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

  for (const [field, value, message] of [
    ['rate_per_second', 2, /rate_per_second is not supported yet/],
    ['burst', 5, /burst is not supported yet/],
    ['memory_mb', 512, /memory_mb is not supported/],
  ] as const) {
    test(`${field} is refused at its pointer`, () => {
      const found = problems(task({ [field]: value }));
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0]?.path, `/nodes/0/resource_limits/${field}`);
      assert.match(found[0]?.message ?? '', message);
      const inMap = problems(map({ max_concurrency: 1, [field]: value }));
      assert.deepEqual(
        inMap.map((p) => p.path),
        [`/nodes/0/task/resource_limits/${field}`],
      );
      assert.deepEqual(
        problems(ai({ [field]: value })).map((p) => p.path),
        [`/nodes/0/resource_limits/${field}`],
      );
    });
  }

  test('concurrency_key needs max_concurrency, and must parse', () => {
    const alone = problems(task({ concurrency_key: 'vars.customer' }));
    assert.deepEqual(
      alone.map((p) => p.path),
      ['/nodes/0/resource_limits/concurrency_key'],
    );
    assert.match(alone[0]?.message ?? '', /needs max_concurrency/);
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
