/**
 * The audit log and a run's own history are linked by request id: the run started by a
 * request carries its id in the memo, and an operator's action carries it in the run's state
 * history, next to who did it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { connectClient, unique } from '../support/temporal.js';

let stack: TestStack;
let client: Client;
let connection: Connection;
before(async () => {
  stack = await startTestStack();
  ({ client, connection } = await connectClient());
});
after(async () => {
  await connection?.close();
  await stack?.close();
});

test('start and pause carry their request ids into the run', async () => {
  const id = unique('linked');
  await stack.call('POST', '/v1/definitions', {
    id,
    nodes: [{ id: 'gate', type: 'event', event_type: unique('go'), correlation_key: 'null' }],
  });
  const startId = unique('req-start');
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {}, { 'x-request-id': startId });
  const runId = started.body.run_id as string;
  const memo = (await client.workflow.getHandle(runId).describe()).memo as Record<string, unknown>;
  assert.equal(memo.request_id, startId);

  const pauseId = unique('req-pause');
  assert.equal((await stack.call('POST', `/v1/runs/${runId}/pause`, {}, { 'x-request-id': pauseId })).status, 202);
  const state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
  const paused = state.history.find((h: any) => h.to === 'paused');
  assert.deepEqual([paused.by, paused.request_id], ['local-dev', pauseId]);

  const audit = (await stack.call('GET', `/v1/audit?target=${runId}`)).body.items as any[];
  assert.ok(
    audit.some((e) => e.action === 'run.pause' && e.request_id === pauseId),
    JSON.stringify(audit),
  );
  await stack.call('POST', `/v1/runs/${runId}/cancel`, {});
});
