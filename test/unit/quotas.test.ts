/**
 * Quotas in the pure engine and the static checks, without Temporal: the run-time quotas a run
 * carries bound its maps, work in flight and timers and set `max_response_bytes` on every
 * connector call (compensations too); without quotas the engine issues exactly what it did
 * before quotas existed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectorCall } from '../../interpreter/commands.js';
import {
  QUOTA_DEFAULTS,
  RUN_PAYLOAD_BYTES,
  literalItemCount,
  quotaProblems,
  type RunQuotas,
} from '../../interpreter/quotas.js';
import { jsonBytes } from '../../interpreter/state-size.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const QUOTAS: RunQuotas = {
  inflight: 8,
  map_concurrency: 5,
  map_items: 100,
  timer_horizon_ms: 3_600_000,
  response_bytes: 4096,
};

const map = (items: string, extra: Record<string, unknown> = {}) => ({
  id: 'm',
  nodes: [
    { id: 'each', type: 'map', items, task: { connector: 'http', action: 'request', inputs: { url: 'x' } }, ...extra },
  ],
});

describe('run-time quotas in the engine', () => {
  test('a map is capped to map_concurrency; without quotas every item starts at once', async () => {
    const bounded = await simulate(map('[1..20]'), { each: 'hold' }, {}, QUOTAS);
    assert.equal(bounded.pending.length, 5);
    const free = await simulate(map('[1..20]'), { each: 'hold' });
    assert.equal(free.pending.length, 20);
    assert.equal((free.calls[0]?.call as ConnectorCall).max_response_bytes, undefined);
    assert.equal((bounded.calls[0]?.call as ConnectorCall).max_response_bytes, 4096);
  });

  test('a map gets no more than the room left under inflight', async () => {
    const sim = await simulate(
      {
        id: 'mixed',
        nodes: [
          { id: 'go', type: 'set', assign: { x: '1' } },
          http('a'),
          http('b'),
          http('c'),
          http('d'),
          http('e'),
          {
            id: 'each',
            type: 'map',
            items: '[1..20]',
            task: { connector: 'http', action: 'request', inputs: { url: 'x' } },
          },
        ],
        edges: ['a', 'b', 'c', 'd', 'e', 'each'].map((to) => ({ from: 'go', to })),
      },
      { a: 'hold', b: 'hold', c: 'hold', d: 'hold', e: 'hold', each: 'hold' },
      {},
      QUOTAS,
    );
    assert.equal(sim.pending.filter((c) => c.node === 'each').length, 3);
  });

  test('a map over map_items fails with QuotaExceeded, which an error edge can take', async () => {
    const sim = await simulate(
      {
        id: 'caught',
        variables: [{ name: 'n', type: 'number' }],
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: '[1..vars.n]',
            task: { connector: 'http', action: 'request', inputs: { url: 'x' } },
          },
          { id: 'fallback', type: 'set', assign: { why: 'error.type' } },
        ],
        edges: [{ from: 'each', to: 'fallback', on: 'error' }],
      },
      { each: { output: null } },
      { n: 101 },
      QUOTAS,
    );
    assert.equal(sim.calls.length, 0);
    assert.equal(sim.closing?.type, 'complete');
    assert.equal(sim.state.vars.why, 'QuotaExceeded');
    assert.match(
      sim.state.nodes.each?.error?.message ?? '',
      /quota "map_items" exceeded: at most 100 items per map \(found 101\)/,
    );
  });

  test('timers beyond timer_horizon fail at run time: literal durations and until dates alike', async () => {
    const wait = (extra: Record<string, unknown>) => ({ id: 'w', nodes: [{ id: 'nap', type: 'wait', ...extra }] });
    for (const node of [{ duration: '2h' }, { until: '"2026-01-01T02:00:00Z"' }]) {
      const sim = await simulate(wait(node), {}, {}, QUOTAS);
      assert.equal(sim.closing?.type, 'fail', JSON.stringify(node));
      assert.equal(sim.closing?.type === 'fail' && sim.closing.error.type, 'QuotaExceeded');
    }
    const approval = await simulate(
      { id: 'a', nodes: [{ id: 'ask', type: 'approval', timeout: '1d' }] },
      {},
      {},
      QUOTAS,
    );
    assert.equal(approval.closing?.type === 'fail' && approval.closing.error.type, 'QuotaExceeded');
    const event = await simulate(
      { id: 'e', nodes: [{ id: 'hear', type: 'event', event_type: 't', correlation_key: '1', timeout: '1d' }] },
      {},
      {},
      QUOTAS,
    );
    assert.equal(event.closing?.type === 'fail' && event.closing.error.type, 'QuotaExceeded');
    // Within the horizon, and without quotas, the wait is set and ends.
    assert.equal((await simulate(wait({ duration: '1h' }), {}, {}, QUOTAS)).closing?.type, 'complete');
    assert.equal((await simulate(wait({ duration: '2h' }), {})).closing?.type, 'complete');
  });

  test('compensations carry max_response_bytes too', async () => {
    const sim = await simulate(
      {
        id: 'saga',
        nodes: [
          http('reserve', {
            compensation: { connector: 'http', action: 'request', inputs: { url: 'http://x.test/undo' } },
          }),
          http('ship'),
        ],
        edges: [{ from: 'reserve', to: 'ship' }],
        error_handlers: [{ id: 'h', action: 'compensate' }],
      },
      { reserve: { output: null }, ship: { error: { type: 'HttpError', message: 'no' } } },
      {},
      QUOTAS,
    );
    assert.deepEqual(
      sim.calls.map((c) => (c.call as ConnectorCall).max_response_bytes),
      [4096, 4096, 4096],
    );
  });
});

describe('static quota checks', () => {
  test('literal item counts: arrays and integer ranges; anything else is for the run', () => {
    assert.equal(literalItemCount('[1..100000]'), 100_000);
    assert.equal(literalItemCount(' [ 5 .. 4 ] '), 0);
    assert.equal(literalItemCount('[1, 2, 3]'), 3);
    assert.equal(literalItemCount('[1..vars.n]'), undefined);
    assert.equal(literalItemCount('vars.items'), undefined);
    assert.equal(literalItemCount('[1,2'), undefined);
  });

  test('the defaults accept the language defaults', () => {
    const parsed = validateDefinition(map('[1..10]'));
    assert.ok(parsed.ok);
    assert.deepEqual(quotaProblems(parsed.definition, QUOTA_DEFAULTS), []);
  });

  test('a definition whose JSON and state_bytes together pass what continue-as-new carries is refused', () => {
    // 900,000 bytes of literal inputs: within the 1,000,000 a definition may have, but with the
    // default state_bytes (1 MiB) over the 1,900,000 one continue-as-new payload may carry.
    const parsed = validateDefinition({
      id: 'big',
      nodes: [
        {
          id: 'a',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: 'https://x.test', pad: Array.from({ length: 18 }, () => 'a'.repeat(50_000)) },
        },
      ],
    });
    assert.ok(parsed.ok);
    const definitionBytes = jsonBytes(parsed.definition);
    assert.ok(definitionBytes > 900_000 && definitionBytes < 1_000_000, String(definitionBytes));
    const problems = quotaProblems(parsed.definition, QUOTA_DEFAULTS);
    const total = definitionBytes + QUOTA_DEFAULTS.state_bytes;
    const count = (n: number) => n.toLocaleString('en-US');
    assert.deepEqual(problems, [
      {
        quota: 'state_bytes',
        path: '',
        message:
          `the definition (${count(definitionBytes)} bytes of JSON) and its runs' state (quota "state_bytes", ` +
          `1,048,576 bytes) are carried together by continue-as-new: at most 1,900,000 bytes together ` +
          `(found ${count(total)}); make the definition smaller or lower the tenant's state_bytes`,
      },
    ]);
    // A tenant whose state_bytes leaves room for the definition may submit it.
    const room = RUN_PAYLOAD_BYTES - definitionBytes;
    assert.deepEqual(quotaProblems(parsed.definition, { ...QUOTA_DEFAULTS, state_bytes: room }), []);
    assert.equal(quotaProblems(parsed.definition, { ...QUOTA_DEFAULTS, state_bytes: room + 1 }).length, 1);
  });
});
