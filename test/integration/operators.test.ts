/**
 * Error handling and operator control on the real dev server: compensation order, pause on
 * failure then retry after the cause is fixed, skip, pause/resume, set variables, cancel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client, type Connection } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun, waitForState } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('ops-it');
let broken = true;

before(async () => {
  target = await startHttpTarget({
    '/ok': (req, res) => json(res, 200, { path: req.query.step }),
    '/fail': (_req, res) => json(res, 400, { error: 'bad request' }),
    '/fixable': (_req, res) => (broken ? json(res, 409, { error: 'not yet' }) : json(res, 200, { fixed: true })),
    '/hang': () => undefined,
  });
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

const call = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: `${target.url}${path}`, query: { step: id } },
  retry_policy: { max_attempts: 1 },
  ...extra,
});
/** The update was refused by its validator with a reason matching `pattern`. */
const refused = (pattern: RegExp) => (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && pattern.test(String(err.cause?.message));
const control = (handle: Awaited<ReturnType<typeof startRun>>, action: Record<string, unknown>) =>
  handle.executeUpdate('control', { args: [action] });

describe('error handlers', () => {
  test('compensate undoes completed steps in reverse completion order, then fails the run', async () => {
    const undo = (id: string) => ({
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/ok`, query: { step: `undo-${id}` } },
    });
    const handle = await startRun(client, taskQueue, {
      id: 'saga',
      nodes: [
        call('reserve', '/ok', { compensation: undo('reserve') }),
        call('charge', '/ok', { compensation: undo('charge') }),
        call('ship', '/fail'),
      ],
      edges: [
        { from: 'reserve', to: 'charge' },
        { from: 'charge', to: 'ship' },
      ],
      error_handlers: [{ id: 'saga', match: { node: 'ship' }, action: 'compensate' }],
    });
    await assert.rejects(handle.result(), WorkflowFailedError);
    const steps = target.requests.filter((r) => r.path === '/ok').map((r) => r.query.step);
    const mine = steps.slice(steps.lastIndexOf('reserve'));
    assert.deepEqual(mine, ['reserve', 'charge', 'undo-charge', 'undo-reserve']);
    const state = await runState(handle);
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.node, 'ship');
  });

  test('continue, goto and terminate', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'handlers',
      nodes: [
        call('optional', '/fail', { output: 'opt' }),
        call('next', '/ok'),
        call('risky', '/fail'),
        { id: 'fallback', type: 'set', assign: { via: '"goto " & error.node' } },
      ],
      edges: [
        { from: 'optional', to: 'next' },
        { from: 'next', to: 'risky' },
      ],
      error_handlers: [
        { id: 'skip-optional', match: { node: 'optional' }, action: 'continue' },
        { id: 'rescue', match: { node: 'risky', error_type: 'HttpError' }, action: 'goto', target: 'fallback' },
      ],
    });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.opt, null);
    assert.equal(result.via, 'goto risky');

    const terminated = await startRun(client, taskQueue, {
      id: 'terminate',
      options: { on_failure: 'pause' },
      nodes: [call('x', '/fail')],
      error_handlers: [{ id: 't', action: 'terminate' }],
    });
    await assert.rejects(
      terminated.result(),
      (err: unknown) => err instanceof WorkflowFailedError && /HttpError|400/.test(String(err.cause?.message)),
    );
  });
});

describe('operators', () => {
  test('on_failure "pause" parks the run; after the cause is fixed, retry completes it', async () => {
    broken = true;
    const handle = await startRun(client, taskQueue, {
      id: 'pause-retry',
      options: { on_failure: 'pause' },
      nodes: [call('first', '/ok'), call('fragile', '/fixable', { output: 'f' }), call('last', '/ok')],
      edges: [
        { from: 'first', to: 'fragile' },
        { from: 'fragile', to: 'last' },
      ],
    });
    const paused = await waitForState(handle, (s) => s.status === 'paused');
    assert.equal(paused.nodes.fragile?.status, 'failed');
    assert.equal(paused.nodes.fragile?.error?.type, 'HttpError');
    await assert.rejects(control(handle, { type: 'resume', by: 'ops' }), refused(/retry or skip/));
    broken = false;
    assert.deepEqual(await control(handle, { type: 'retry', by: 'ops' }), { accepted: true, status: 'running' });
    const result = (await handle.result()) as Record<string, any>;
    assert.deepEqual(result.f.body, { fixed: true });
    const state = await runState(handle);
    assert.ok(state.history.some((h) => h.to === 'retrying' && h.by === 'ops'));
  });

  test('pause stops new nodes, set variables, skip a pending node, resume', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'steer',
      variables: [{ name: 'limit', type: 'number', default: 1 }],
      nodes: [
        { id: 'gate', type: 'event', event_type: 'go', correlation_key: 'null' },
        call('skipped', '/ok', { output: 's' }),
        { id: 'final', type: 'set', assign: { seen_limit: 'vars.limit' } },
      ],
      edges: [
        { from: 'gate', to: 'skipped' },
        { from: 'skipped', to: 'final' },
      ],
    });
    await waitForState(handle, (s) => s.nodes.gate?.status === 'waiting');
    await control(handle, { type: 'pause', by: 'ops', reason: 'checking' });
    await assert.rejects(
      control(handle, { type: 'set_variables', by: 'ops', variables: { limit: 'many' } }),
      refused(/expected number/),
    );
    await control(handle, { type: 'set_variables', by: 'ops', variables: { limit: 7 } });
    await control(handle, { type: 'skip', by: 'ops', node: 'skipped', output: { manual: true } });
    await handle.executeUpdate('deliver_event', { args: [{ event_type: 'go', payload: {} }] });
    const paused = await runState(handle);
    assert.equal(paused.status, 'paused');
    assert.equal(paused.nodes.skipped?.status, 'pending');
    await control(handle, { type: 'resume', by: 'ops' });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.seen_limit, 7);
    assert.deepEqual(result.s, { manual: true });
    const state = await runState(handle);
    assert.equal(state.nodes.skipped?.status, 'skipped');
    assert.deepEqual(
      state.history.filter((h) => h.by === 'ops').map((h) => h.to),
      ['paused', 'variables_set', 'skip_scheduled', 'running', 'skipped'],
    );
  });

  test('cancel records who did it and ends the run as cancelled, cancelling in-flight work', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'cancel',
      nodes: [call('stuck', '/hang', { timeout: '1m' })],
    });
    await waitForState(handle, (s) => s.nodes.stuck?.status === 'running');
    await control(handle, { type: 'cancel', by: 'ops', reason: 'not needed' });
    await handle.cancel();
    await assert.rejects(
      handle.result(),
      (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
    );
    const description = await handle.describe();
    assert.equal(description.status.name, 'CANCELLED');
    const state = await runState(handle);
    assert.equal(state.status, 'cancelled');
    assert.ok(state.history.some((h) => h.node === undefined && h.to === 'cancelled' && h.by === 'ops'));
    // The node that was running when the run was cancelled never finishes: it says so.
    assert.equal(state.nodes.stuck?.status, 'cancelled');
    assert.deepEqual(state.active_nodes, []);
  });
});
