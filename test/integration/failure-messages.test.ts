/**
 * Failure messages are bounded: an HTTP target answering an error with a 2 MB body, and an
 * expression failing with a 1 MB message, fail their runs cleanly (status failed, not
 * terminated by Temporal for an oversized failure), with the message cut to 8 KiB and marked
 * "… (truncated, N bytes)"; the run state shows the cut message too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

const BOUND = 8 * 1024;
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

let target: HttpTarget;
let client: Client;
let connection: Connection;
let worker: RunningWorker;
const taskQueue = unique('failure-messages');

before(async () => {
  target = await startHttpTarget({
    '/huge-error': (_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('E'.repeat(2 * 1024 * 1024));
    },
  });
  ({ client, connection } = await connectClient());
  worker = await startTestWorker(taskQueue);
});
after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

async function failure(handle: Awaited<ReturnType<typeof startRun>>): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail('the run completed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  const description = await handle.describe();
  assert.equal(description.status.name, 'FAILED', 'failed cleanly, not terminated');
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  return err.cause;
}

describe('bounded failure messages', () => {
  test('an HTTP error with a 2 MB body fails the run cleanly with bounded details', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'huge-http-error',
      nodes: [
        {
          id: 'call',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: `${target.url}/huge-error`, max_response_bytes: 3 * 1024 * 1024 },
        },
      ],
    });
    const cause = await failure(handle);
    assert.equal(cause.type, 'HttpError');
    assert.ok(bytes(cause.message) <= BOUND, `${bytes(cause.message)} bytes`);
    const state = await runState(handle);
    assert.equal(state.status, 'failed');
    assert.equal(state.nodes.call?.status, 'failed');
    assert.ok(JSON.stringify(state).length < 256 * 1024, `state of ${JSON.stringify(state).length} characters`);
  });

  test('an expression failing with a 1 MB message fails the run with a truncated message', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'huge-expression-error',
      nodes: [{ id: 'boom', type: 'set', assign: { x: '$error($pad("", 1000000, "x"))' } }],
    });
    const cause = await failure(handle);
    assert.equal(cause.type, 'ExpressionError');
    assert.ok(bytes(cause.message) <= BOUND + 64, `${bytes(cause.message)} bytes`);
    assert.ok(/… \(truncated, \d+ bytes\)$/.test(cause.message), cause.message.slice(-200));
    const state = await runState(handle);
    assert.equal(state.status, 'failed');
    assert.ok(bytes(state.error?.message ?? '') <= BOUND, `${bytes(state.error?.message ?? '')} bytes`);
    const message = state.error?.message ?? '';
    assert.ok(/failed: x+… \(truncated, \d+ bytes\)$/.test(message), message.slice(-200));
  });
});
