/**
 * A poisoned run — one whose workflow task fails every time, so it can never take an Update —
 * is still stopped through the API: cancel falls back to Temporal's cancellation (202, never
 * 500), and cancel with `{"force": true}` terminates it.
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

test(
  'a run whose workflow task keeps failing is cancelled, then terminated, through the API',
  { timeout: 180_000 },
  async () => {
    const runId = unique('poisoned');
    // A definition the workflow cannot even compile: every workflow task throws a TypeError.
    const handle = await client.workflow.start('interpret', {
      taskQueue: stack.config.taskQueue,
      workflowId: runId,
      args: [{ definition: { id: 'poisoned', version: '1', nodes: null, edges: null } as never }],
    });
    // Wait until the worker has failed its workflow task at least once.
    for (let i = 0; i < 120; i++) {
      const { events } = await handle.fetchHistory();
      if ((events ?? []).some((e) => e.workflowTaskFailedEventAttributes)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const cancelled = await stack.call('POST', `/v1/runs/${runId}/cancel`, { reason: 'poisoned' });
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    // Temporal holds the cancellation request while the run's workflow task keeps failing; the run
    // has not closed by itself, so terminating is what stops it.
    assert.equal((await handle.describe()).status.name, 'RUNNING');

    const forced = await stack.call('POST', `/v1/runs/${runId}/cancel`, { reason: 'still poisoned', force: true });
    assert.equal(forced.status, 202, JSON.stringify(forced.body));
    assert.equal((await handle.describe()).status.name, 'TERMINATED');
    const again = await stack.call('POST', `/v1/runs/${runId}/cancel`, { force: true });
    assert.equal(again.status, 409, JSON.stringify(again.body));
  },
);
