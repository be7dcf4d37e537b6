/**
 * Every node type on the real dev server: join (with a 100-branch fan-out and dead paths),
 * wait, event (updates, signals, buffering, timeouts), approval, map and subworkflow.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError, type Client, type Connection } from '@temporalio/client';
import { SqliteDefinitionStore } from '../../src/store/sqlite-store.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun, waitForState } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
let store: SqliteDefinitionStore;
let dir: string;
const taskQueue = unique('nodes-it');

before(async () => {
  target = await startHttpTarget({
    '/echo': (req, res) => json(res, 200, { q: req.query }),
    '/slow': (_req, res) => void setTimeout(() => json(res, 200, { slow: true }), 300),
  });
  dir = mkdtempSync(join(tmpdir(), 'weft-nodes-'));
  store = new SqliteDefinitionStore(join(dir, 'defs.db'));
  worker = await startTestWorker(taskQueue, { definitions: store });
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const echo = (id: string, q: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: `${target.url}/echo`, query: { v: q } },
  retry_policy: { max_attempts: 1 },
  ...extra,
});

describe('join', () => {
  test('a 100-branch fan-out joins; a branch not taken does not hang "all"; "any" fires once', async () => {
    const branches = Array.from({ length: 100 }, (_, i) => `b${i}`);
    const handle = await startRun(client, taskQueue, {
      id: 'fan-out',
      variables: [{ name: 'skip_last', type: 'boolean', default: true }],
      nodes: [
        { id: 'start', type: 'set', assign: { started: 'true' } },
        ...branches.map((b) => echo(b, b)),
        { id: 'all', type: 'join' },
        { id: 'first', type: 'join', mode: 'any' },
        {
          id: 'count',
          type: 'set',
          assign: { joined: '$count($keys(nodes.all.output))', first: '$keys(nodes.first.output)' },
        },
      ],
      edges: [
        ...branches.map((b, i) => ({ from: 'start', to: b, ...(i === 99 ? { when: '$not(vars.skip_last)' } : {}) })),
        ...branches.map((b) => ({ from: b, to: 'all' })),
        { from: 'b0', to: 'first' },
        { from: 'b1', to: 'first' },
        { from: 'all', to: 'count' },
      ],
    });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.joined, 99);
    assert.ok(result.first === 'b0' || result.first === 'b1', String(result.first));
    const state = await runState(handle);
    assert.equal(state.nodes.b99?.status, 'skipped');
    assert.equal(state.nodes.first?.status, 'completed');
  });
});

describe('wait, event and approval', () => {
  test('a wait node is "waiting" while its durable timer runs, then completes', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'wait',
      nodes: [{ id: 'nap', type: 'wait', duration: '1500ms' }],
    });
    const waiting = await waitForState(handle, (s) => s.nodes.nap?.status === 'waiting');
    assert.deepEqual(waiting.active_nodes, ['nap']);
    await handle.result();
    assert.equal((await runState(handle)).nodes.nap?.status, 'completed');
  });

  const eventDefinition = () => ({
    id: 'await-payment',
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [
      // Slow on purpose: events sent right after the start land before "paid" waits.
      { ...echo('prepare', 'p'), inputs: { url: `${target.url}/slow` } },
      {
        id: 'paid',
        type: 'event',
        event_type: 'payment.settled',
        correlation_key: 'vars.order',
        timeout: '20s',
        output: 'payment',
      },
      { id: 'late', type: 'set', assign: { outcome: '"late: " & error.type' } },
      { id: 'ok', type: 'set', assign: { outcome: '"paid " & $string(vars.payment.amount)' } },
    ],
    edges: [
      { from: 'prepare', to: 'paid' },
      { from: 'paid', to: 'ok' },
      { from: 'paid', to: 'late', on: 'error' },
    ],
  });

  test('an event with the wrong correlation key is ignored; the right one completes the node', async () => {
    const handle = await startRun(client, taskQueue, eventDefinition(), { order: 'o-7' });
    await waitForState(handle, (s) => s.nodes.paid?.status === 'waiting');
    const wrong = await handle.executeUpdate('deliver_event', {
      args: [{ event_type: 'payment.settled', correlation_key: 'o-8', payload: { amount: 1 } }],
    });
    assert.deepEqual(wrong, { status: 'buffered' });
    assert.equal((await runState(handle)).nodes.paid?.status, 'waiting');
    const right = await handle.executeUpdate('deliver_event', {
      args: [{ event_type: 'payment.settled', correlation_key: 'o-7', payload: { amount: 42 }, event_id: 'evt-1' }],
    });
    assert.deepEqual(right, { status: 'delivered' });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.outcome, 'paid 42');
  });

  test('an event Update once the run has ended is refused at once and the run still closes', async () => {
    const handle = await startRun(client, taskQueue, eventDefinition(), { order: 'o-end' });
    await waitForState(handle, (s) => s.nodes.paid?.status === 'waiting');
    // Cancelled through the run: the graph has ended, the workflow waits for Temporal's cancellation.
    await handle.executeUpdate('control', { args: [{ type: 'cancel', by: 'test', reason: 'done' }] });
    assert.equal((await runState(handle)).status, 'cancelled');
    // Before, this Update was accepted into an inbox nothing drained: never answered, run never closed.
    await assert.rejects(
      handle.executeUpdate('deliver_event', {
        args: [{ event_type: 'payment.settled', correlation_key: 'o-end', payload: { amount: 1 } }],
      }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /cancelled/.test(String(err.cause?.message)),
    );
    await handle.cancel();
    await assert.rejects(handle.result());
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
  });

  test('an event sent before the run waits for it is not lost (signal race, 20 runs)', async () => {
    const handles = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const handle = await startRun(client, taskQueue, eventDefinition(), { order: `race-${i}` });
        // Sent right after start: the run is still running "prepare" (an activity) when it lands.
        await handle.signal('event', {
          event_type: 'payment.settled',
          correlation_key: `race-${i}`,
          payload: { amount: i },
        });
        return handle;
      }),
    );
    const results = (await Promise.all(handles.map((h) => h.result()))) as Array<Record<string, unknown>>;
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array.from({ length: 20 }, (_, i) => `paid ${i}`),
    );
  });

  test('a timeout fails the node with Timeout and an on:error edge catches it', async () => {
    const base = eventDefinition();
    const quick = { ...base, nodes: base.nodes.map((n) => (n.id === 'paid' ? { ...n, timeout: '1s' } : n)) };
    const handle = await startRun(client, taskQueue, quick, { order: 'o-9' });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.outcome, 'late: Timeout');
    assert.equal((await runState(handle)).nodes.paid?.error?.type, 'Timeout');
  });

  test('an approval waits for a decision by an approver; others are refused at once', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'approve',
      nodes: [{ id: 'review', type: 'approval', approvers: ['ann'], output: 'decision' }, echo('ship', 's')],
      edges: [{ from: 'review', to: 'ship' }],
    });
    await waitForState(handle, (s) => s.nodes.review?.status === 'waiting');
    await assert.rejects(
      handle.executeUpdate('control', { args: [{ type: 'approve', by: 'mallory', node: 'review', approved: true }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /not an approver/.test(String(err.cause?.message)),
    );
    const accepted = await handle.executeUpdate('control', {
      args: [{ type: 'approve', by: 'ann', node: 'review', approved: true, comment: 'ok' }],
    });
    assert.deepEqual(accepted, { accepted: true, status: 'running' });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.deepEqual(result.decision, { approved: true, by: 'ann', comment: 'ok' });
  });
});

describe('map and subworkflow', () => {
  test('map fans out per item with bounded concurrency and keeps item order', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'map',
      variables: [{ name: 'letters', type: 'array', default: ['a', 'b', 'c', 'd', 'e'] }],
      nodes: [
        {
          id: 'each',
          type: 'map',
          items: 'vars.letters',
          max_concurrency: 2,
          output: 'results',
          task: {
            connector: 'http',
            action: 'request',
            inputs: { url: `${target.url}/echo`, query: { v: '{{ item & $string(index) }}' } },
          },
        },
        { id: 'pick', type: 'set', assign: { values: 'vars.results.body.q.v' } },
      ],
      edges: [{ from: 'each', to: 'pick' }],
    });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.deepEqual(result.values, ['a0', 'b1', 'c2', 'd3', 'e4']);
  });

  test('a subworkflow node runs the stored definition as a child and returns its result', async () => {
    const child = `child-${unique('x').slice(2)}`;
    await store.submit(
      (await import('../support/runs.js')).versioned({
        id: child,
        variables: [
          { name: 'n', type: 'number', required: true },
          { name: 'double', type: 'number' },
        ],
        nodes: [{ id: 'calc', type: 'set', assign: { double: 'vars.n * 2' } }],
      }),
      'test',
    );
    const handle = await startRun(client, taskQueue, {
      id: 'parent',
      nodes: [
        { id: 'kid', type: 'subworkflow', definition: child, inputs: { n: 21 }, output: 'child_result' },
        { id: 'missing', type: 'subworkflow', definition: 'no-such-definition', inputs: {} },
        { id: 'caught', type: 'set', assign: { missing_error: 'error.type' } },
      ],
      edges: [
        { from: 'kid', to: 'missing' },
        { from: 'missing', to: 'caught', on: 'error' },
      ],
    });
    const result = (await handle.result()) as Record<string, any>;
    assert.equal(result.child_result.double, 42);
    assert.equal(result.missing_error, 'DefinitionNotFound');
  });
});
