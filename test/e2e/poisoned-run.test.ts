/**
 * A poisoned run — one whose workflow task fails every time, so it can never take an Update —
 * is still stopped through the API: cancel falls back to Temporal's cancellation (202, never
 * 500), and cancel with `{"force": true}` terminates it. A terminated run reads as closed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { connectClient, unique } from '../support/temporal.js';
import { until, untilTrue } from '../support/poll.js';

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
    await untilTrue(
      'the worker to fail its workflow task',
      async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.workflowTaskFailedEventAttributes),
      180_000,
      500,
    );

    // Its state cannot be read while its workflow task fails: 503 with Retry-After, never 500
    // (the first query may time out waiting for a worker; once Temporal knows the task is
    // failing it refuses queries at once, and the answer says so).
    let said = '';
    for (let i = 0; i < 5 && !/workflow task failed/.test(said); i++) {
      const read = await fetch(`${stack.gateway.url}/v1/runs/${runId}`);
      const body = (await read.json()) as { error?: { code?: string; message?: string } };
      assert.equal(read.status, 503, JSON.stringify(body));
      assert.equal(body.error?.code, 'unavailable');
      assert.ok(Number(read.headers.get('retry-after')) > 0, 'a Retry-After header');
      said = body.error?.message ?? '';
    }
    assert.match(said, /its last workflow task failed/);

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

/** Polls the run's state until `done` holds for it (generous: the machine may be busy). */
async function stateWhen(runId: string, done: (state: any) => boolean): Promise<any> {
  let state: any;
  return until(
    () => `the run to reach the expected state: ${JSON.stringify(state)}`,
    async () => {
      state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
      return done(state) ? state : undefined;
    },
  );
}

test(
  'a run terminated by cancel {"force": true} reads as failed (Terminated), its waiting node cancelled',
  {
    timeout: 120_000,
  },
  async () => {
    const id = unique('terminated');
    const submitted = await stack.call('POST', '/v1/definitions', {
      id,
      nodes: [
        { id: 'review', type: 'approval' },
        { id: 'ship', type: 'set', assign: { shipped: 'true' } },
      ],
      edges: [{ from: 'review', to: 'ship' }],
      variables: [{ name: 'shipped', type: 'boolean' }],
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const runId = started.body.run_id as string;
    await stateWhen(runId, (s) => s?.nodes?.review?.status === 'waiting');

    const forced = await stack.call('POST', `/v1/runs/${runId}/cancel`, { reason: 'wrong order', force: true });
    assert.equal(forced.status, 202, JSON.stringify(forced.body));
    // The run is terminated when the cancel is answered.
    const { body: state } = await stack.call('GET', `/v1/runs/${runId}`);
    assert.equal(state.status, 'failed', JSON.stringify(state));
    assert.equal(state.error?.type, 'Terminated', JSON.stringify(state));
    assert.match(state.error?.message ?? '', /wrong order/);
    assert.equal(state.nodes.review.status, 'cancelled', JSON.stringify(state.nodes));
    assert.equal(state.nodes.ship?.status ?? 'cancelled', 'cancelled', JSON.stringify(state.nodes));
    assert.deepEqual(state.active_nodes, []);
    assert.equal(state.current_node, null);
    // The state agrees with the run's outcome.
    const outcome = await stack.call('GET', `/v1/runs/${runId}/result`);
    assert.equal(outcome.body.status, 'failed', JSON.stringify(outcome.body));
    assert.equal(outcome.body.error?.type, 'Terminated');
  },
);
