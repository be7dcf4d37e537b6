/**
 * The state query says "completed" only once the workflow returns (issue 19), on a real worker
 * and dev server. The run is held between the end of its graph and its return by real work: a
 * task under `resource_limits` is cancelled by an `end` node, and its activity is awaited to its
 * real end (WAIT_CANCELLATION_COMPLETED) so the limiter's permit is given back only after it; the
 * HTTP call it makes is answered only when the test says. Meanwhile the graph has ended (the raw
 * state says completed), yet the state query says running, as Temporal's describe does, and an
 * event is refused; once the call is answered the run returns and both say completed.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { WorkflowUpdateFailedError, type Client, type Connection } from '@temporalio/client';
import type { RunState } from '../../interpreter/run-state.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun, waitForState } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let target: HttpTarget;
let client: Client;
let connection: Connection;
let worker: RunningWorker;
const taskQueue = unique('until-returned');
const held: ServerResponse[] = [];

before(async () => {
  target = await startHttpTarget({ '/hold': (_req, res) => void held.push(res) });
  ({ client, connection } = await connectClient());
  worker = await startTestWorker(taskQueue);
});
after(async () => {
  for (const res of held.splice(0)) res.destroy();
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

test('between the end of the graph and the return the state says running and events are refused; then completed', async () => {
  const type = unique('go');
  const handle = await startRun(client, taskQueue, {
    id: unique('held-end'),
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        resource_limits: { max_concurrency: 1 },
        inputs: { url: `${target.url}/hold`, timeout: '120s' },
      },
      { id: 'gate', type: 'event', event_type: type, correlation_key: '"k"' },
      { id: 'finish', type: 'end', result: '"ended"' },
    ],
    edges: [{ from: 'gate', to: 'finish' }],
  });
  // The limited call is on the wire before the graph may end.
  await until('the held call', () => Promise.resolve(held.length === 1 ? true : undefined));
  await waitForState(handle, (s) => s.nodes.gate?.status === 'waiting');
  const delivered = await handle.executeUpdate('deliver_event', {
    args: [{ event_type: type, correlation_key: 'k', payload: {} }],
  });
  assert.deepEqual(delivered, { status: 'delivered' });

  // The graph has ended; the workflow has not returned: it waits for the cancelled call to end.
  await until('the end of the graph', async () =>
    (await handle.query<RunState>('raw_state')).status === 'completed' ? true : undefined,
  );
  const between = await runState(handle);
  assert.equal(between.status, 'running');
  assert.equal(between.result, undefined);
  assert.equal((await handle.describe()).status.name, 'RUNNING');
  assert.equal(held.length, 1, 'the call is still held');
  await assert.rejects(
    handle.executeUpdate('deliver_event', { args: [{ event_type: type, correlation_key: 'k', payload: {} }] }),
    (err: unknown) =>
      err instanceof WorkflowUpdateFailedError && /the run is completed/.test(String(err.cause?.message)),
  );
  // Still between: the refused event changed nothing.
  assert.equal((await runState(handle)).status, 'running');

  // The call ends: the permit is given back, the workflow returns.
  json(held.shift() as ServerResponse, 200, { ok: true });
  assert.equal(await handle.result(), 'ended');
  assert.equal((await handle.describe()).status.name, 'COMPLETED');
  const closed = await runState(handle);
  assert.equal(closed.status, 'completed');
  assert.equal(closed.result, 'ended');
});
