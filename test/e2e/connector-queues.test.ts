/**
 * `WEFT_CONNECTOR_QUEUES` through the gateway: a run started over HTTP (and the new run of a
 * retry of a closed run) schedules its `http` call on the routed queue, where an activity-only
 * worker serves it, and carries the table in its start args.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { until } from '../support/poll.js';
import { NAMESPACE, connectClient, temporalAddress, unique } from '../support/temporal.js';

const pool = unique('e2e-pool');
let stack: TestStack;
let target: HttpTarget;
let poolWorker: RunningWorker;
let client: Client;
let connection: Connection;
/** While true `/flaky` fails, so the run fails and can be retried. */
let failing = true;

before(async () => {
  target = await startHttpTarget({
    '/flaky': (_req, res) => json(res, failing ? 500 : 200, { ok: !failing }),
  });
  stack = await startTestStack({ env: { WEFT_CONNECTOR_QUEUES: `http=${pool}` } });
  poolWorker = await startWorker({
    address: temporalAddress(),
    namespace: NAMESPACE,
    taskQueue: pool,
    activitiesOnly: true,
  });
  ({ client, connection } = await connectClient());
});

after(async () => {
  await poolWorker?.shutdown();
  await stack?.close();
  await connection?.close();
  await target?.close();
});

/** The queue each `runConnector` call of a run was scheduled on, and its start args' table. */
async function routing(handle: WorkflowHandle): Promise<{ queues: string[]; table: unknown }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const queues = events.flatMap((e) =>
    e.activityTaskScheduledEventAttributes?.activityType?.name === 'runConnector'
      ? [e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '']
      : [],
  );
  const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  const args = JSON.parse(Buffer.from(input ?? new Uint8Array()).toString('utf8')) as { connector_queues?: unknown };
  return { queues, table: args.connector_queues };
}

const result = (runId: string) =>
  until(`run ${runId} to close`, async () => {
    const { body } = await stack.call('GET', `/v1/runs/${runId}/result`);
    return body.status === 'running' ? undefined : (body as { status: string });
  });

test('a run started through the gateway, and the retry of it, call the routed connector on its queue', async () => {
  const id = unique('routed-e2e');
  const submitted = await stack.call('POST', '/v1/definitions', {
    id,
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        retry_policy: { max_attempts: 1 },
        inputs: { url: `${target.url}/flaky` },
      },
    ],
    edges: [],
  });
  assert.ok(submitted.status < 300, JSON.stringify(submitted.body));
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
  assert.ok(started.status < 300, JSON.stringify(started.body));
  const runId = (started.body as { run_id: string }).run_id;
  assert.equal((await result(runId)).status, 'failed');
  const first = await routing(client.workflow.getHandle(runId));
  assert.deepEqual(first, { queues: [pool], table: { http: pool } });
  // The pool worker ran it: nothing polls the pool queue but that worker.
  assert.ok(target.count('/flaky') >= 1);

  failing = false;
  const retried = await stack.call('POST', `/v1/runs/${runId}/retry`, {});
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  const retryId = (retried.body as { run_id: string }).run_id;
  assert.equal((await result(retryId)).status, 'completed');
  const second = await routing(client.workflow.getHandle(retryId));
  assert.deepEqual(second, { queues: [pool], table: { http: pool } });
});
