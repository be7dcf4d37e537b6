/**
 * The bound on the run state (`state_bytes`, interpreter/state-size.ts) in the pure engine: the
 * node whose result would take the state over it fails with StateTooLarge (set, task, map item,
 * event payload), error edges apply, the refused value never enters the state, the measure is
 * exact and the same for a fresh copy of the state (replay, continue-as-new), and a run whose
 * history predates the bound (`stateBound` answering false) runs as it did.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deliverEvent } from '../../interpreter/control.js';
import { compileProgram, initialState, startRun } from '../../interpreter/engine.js';
import { QUOTA_CEILINGS, QuotaOverrides, quotaDefaultsFromEnv, type RunQuotas } from '../../interpreter/quotas.js';
import { DEFAULT_STATE_BYTES, jsonBytes, stateBytes } from '../../interpreter/state-size.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask, simulate } from '../support/simulate.js';

const quotas = (state_bytes: number): RunQuotas => ({
  inflight: 100,
  map_concurrency: 10,
  map_items: 1000,
  timer_horizon_ms: 3_600_000,
  response_bytes: 1 << 20,
  state_bytes,
});

const pad = (n: number) => `$pad('', ${n}, 'x')`;

describe('state_bytes in the engine', () => {
  test('a set node over the bound fails with StateTooLarge; the value never enters the state', async () => {
    const sim = await simulate(
      {
        id: 'big',
        nodes: [
          { id: 'a', type: 'set', assign: { a: pad(10_000) } },
          { id: 'b', type: 'set', assign: { b: pad(30_000) } },
        ],
        edges: [{ from: 'a', to: 'b' }],
      },
      {},
      {},
      quotas(64 * 1024),
    );
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.type, 'StateTooLarge');
    assert.equal(sim.state.error?.node, 'b');
    assert.match(sim.state.error?.message ?? '', /node "b" would make the run state 80,\d{3} bytes of JSON/);
    assert.match(sim.state.error?.message ?? '', /above the limit of 65,536 bytes \(quota "state_bytes"\)/);
    assert.equal(sim.state.vars.b, undefined);
    assert.equal((sim.state.vars.a as string).length, 10_000);
    assert.deepEqual(sim.state.quota_refusals, ['state_bytes']);
  });

  test('the measure is the JSON of the values, the same for a fresh copy of the state', async () => {
    const sim = await simulate(
      {
        id: 'measure',
        variables: [
          { name: 'r', type: 'object' },
          { name: 'given', type: 'string' },
        ],
        nodes: [{ id: 'a', type: 'set', assign: { a: "'é€😀'", n: '42' } }, httpTask('fetch', { output: 'r' })],
        edges: [{ from: 'a', to: 'fetch' }],
      },
      { fetch: { output: { body: 'ü'.repeat(100) } } },
      { given: 'x' },
      quotas(DEFAULT_STATE_BYTES),
    );
    assert.equal(sim.closing?.type, 'complete');
    const { state } = sim;
    const expected =
      jsonBytes(state.input) +
      Object.values(state.vars).reduce<number>((n, v) => n + jsonBytes(v), 0) +
      Object.values(state.nodes).reduce<number>((n, r) => n + (r.output === undefined ? 0 : jsonBytes(r.output)), 0);
    assert.equal(stateBytes(state), expected);
    assert.equal(jsonBytes('é€😀'), 2 + 2 + 3 + 4, 'UTF-8 bytes, quotes included');
    assert.equal(stateBytes(structuredClone(state)), expected);
  });

  test("a task's output over the bound fails the node; an error edge takes it", async () => {
    const sim = await simulate(
      {
        id: 'task',
        nodes: [httpTask('fetch', { output: 'r' }), { id: 'fallback', type: 'set', assign: { why: 'error.type' } }],
        variables: [{ name: 'r', type: 'object' }],
        edges: [{ from: 'fetch', to: 'fallback', on: 'error' }],
      },
      { fetch: { output: { body: 'x'.repeat(40_000) } } },
      {},
      quotas(64 * 1024),
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(sim.state.vars.why, 'StateTooLarge');
    assert.equal(sim.state.vars.r, null);
    assert.equal(sim.state.nodes.fetch?.output, undefined);
  });

  test('map item results count as they arrive: the item that does not fit fails the map', async () => {
    const sim = await simulate(
      {
        id: 'map',
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: '[1..20]',
            max_concurrency: 1,
            task: { connector: 'http', action: 'request', inputs: { url: 'x' } },
          },
        ],
      },
      { each: { output: 'y'.repeat(5_000) } },
      {},
      quotas(64 * 1024),
    );
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.type, 'StateTooLarge');
    assert.equal(sim.state.error?.node, 'each');
    // 13 results of 5 KB fit in 64 KiB with the items; the 14th does not (14 started, no more).
    assert.equal(sim.calls.length, 14);
    assert.equal(sim.state.nodes.each?.output, undefined);
  });

  test('an event payload over the bound fails the waiting node; one no node waits for is not kept', async () => {
    const validated = validateDefinition({
      id: 'ev',
      nodes: [
        { id: 'first', type: 'set', assign: { k: "'a'" } },
        { id: 'wait', type: 'event', event_type: 'big', correlation_key: "'a'" },
      ],
      edges: [{ from: 'first', to: 'wait' }],
    });
    assert.ok(validated.ok);
    const program = compileProgram(validated.definition);
    const run = { id: 'r', definition_id: 'ev', definition_version: '1', started_at: '2026-01-01T00:00:00.000Z' };
    const state = initialState(run, {}, {}, quotas(64 * 1024));
    await startRun(program, state, '2026-01-01T00:00:01.000Z');
    const other = await deliverEvent(
      program,
      state,
      { event_type: 'big', correlation_key: 'b', payload: 'z'.repeat(70_000) },
      '2026-01-01T00:00:02.000Z',
    );
    assert.equal(other.status, 'ignored');
    assert.equal(state.event_buffer.length, 0);
    const delivered = await deliverEvent(
      program,
      state,
      { event_type: 'big', correlation_key: 'a', payload: 'z'.repeat(70_000) },
      '2026-01-01T00:00:03.000Z',
    );
    assert.equal(delivered.status, 'delivered');
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.type, 'StateTooLarge');
    assert.equal(state.error?.node, 'wait');
  });

  test('a run recorded before the bound (stateBound answers false) grows as it did', async () => {
    const validated = validateDefinition({ id: 'old', nodes: [{ id: 'a', type: 'set', assign: { a: pad(600_000) } }] });
    assert.ok(validated.ok);
    let asked = 0;
    const program = {
      ...compileProgram(validated.definition),
      stateBound: () => {
        asked++;
        return false;
      },
    };
    const run = { id: 'r', definition_id: 'old', definition_version: '1', started_at: '2026-01-01T00:00:00.000Z' };
    // No quotas pinned (a run from before quotas): the default bound, unless the history predates it.
    const state = initialState(run, {}, {});
    const commands = await startRun(program, state, '2026-01-01T00:00:01.000Z');
    assert.equal(commands.at(-1)?.type, 'complete');
    assert.ok(asked >= 1, 'asked only because the write did not fit');

    const small = validateDefinition({ id: 'small', nodes: [{ id: 'a', type: 'set', assign: { a: '1' } }] });
    assert.ok(small.ok);
    let never = 0;
    const quiet = { ...compileProgram(small.definition), stateBound: () => Boolean(++never) };
    await startRun(quiet, initialState(run, {}, {}), '2026-01-01T00:00:01.000Z');
    assert.equal(never, 0, 'a write that fits never asks (no patch marker in the history)');
  });
});

describe('quota ceilings respect Temporal', () => {
  test("inflight and map_concurrency stay under Temporal's 2,000 pending activities and child workflows", () => {
    assert.ok(QUOTA_CEILINGS.inflight < 2_000);
    assert.ok(QUOTA_CEILINGS.map_concurrency < 2_000);
    const over = QuotaOverrides.safeParse({ inflight: 2_500, map_concurrency: 5_000, state_bytes: 4 * 1024 * 1024 });
    assert.ok(!over.success);
    assert.deepEqual(
      over.error.issues.map((issue) => [issue.path.join('/'), issue.message]),
      [
        ['inflight', 'expected at most 1,000'],
        ['map_concurrency', 'expected at most 1,000'],
        ['state_bytes', 'expected at most 1,572,864'],
      ],
    );
    assert.ok(QuotaOverrides.safeParse({ inflight: 1_000, map_concurrency: 1_000 }).success);
    assert.throws(
      () => quotaDefaultsFromEnv({ WEFT_QUOTA_INFLIGHT: '10000' }),
      /WEFT_QUOTA_INFLIGHT: expected at most 1,000/,
    );
    assert.throws(
      () => quotaDefaultsFromEnv({ WEFT_QUOTA_STATE_BYTES: '1000' }),
      /WEFT_QUOTA_STATE_BYTES: expected at least 65,536/,
    );
    assert.equal(quotaDefaultsFromEnv({}).state_bytes, DEFAULT_STATE_BYTES);
  });
});
