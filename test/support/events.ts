/**
 * Helpers of the event acceptance tests (test/e2e/event-mailboxes.test.ts over HTTP,
 * test/e2e/nats-events.test.ts over NATS): a definition whose runs park on an event with their
 * own key, runs started and events sent a few at a time, and the check that every run completes
 * with its own payload.
 */
import assert from 'node:assert/strict';
import type { TestStack } from './gateway.js';
import { unique } from './temporal.js';
import { until } from './poll.js';

export { until };

/** How many requests the acceptance tests have in flight at once. */
export const AT_ONCE = 8;

/** Runs `work` over `items`, `limit` at a time; results in item order. */
export async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i] as T);
      }
    }),
  );
  return results;
}

/** A definition whose runs wait at node `paid` for an event keyed by their `order`, output `payment`. */
export async function parkedDefinition(stack: TestStack): Promise<{ id: string; type: string }> {
  const id = unique('parked');
  const type = unique('order.paid');
  const submitted = await stack.call('POST', '/v1/definitions', {
    id,
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [{ id: 'paid', type: 'event', event_type: type, correlation_key: 'vars.order', output: 'payment' }],
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  return { id, type };
}

/** Starts one run of `id` per order, AT_ONCE at a time; their run ids in order. */
export async function startRuns(stack: TestStack, id: string, orders: string[]): Promise<string[]> {
  return inBatches(orders, AT_ONCE, async (order) => {
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    return started.body.run_id as string;
  });
}

/** Polls each run until its `paid` node waits. */
export async function untilWaiting(stack: TestStack, runIds: string[]): Promise<void> {
  await inBatches(runIds, AT_ONCE, (runId) =>
    until(`run ${runId} to wait`, async () => {
      const state = await stack.call('GET', `/v1/runs/${runId}`);
      return state.body?.nodes?.paid?.status === 'waiting' ? true : undefined;
    }),
  );
}

/** Every run completes with `{ order }` of its own order as its `payment`. */
export async function assertOwnPayloads(stack: TestStack, runIds: string[], orders: string[]): Promise<void> {
  await inBatches(
    runIds.map((runId, i) => ({ runId, order: orders[i] as string })),
    AT_ONCE,
    async ({ runId, order }) => {
      const result = await until(`run ${runId} to complete`, async () => {
        const r = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      });
      assert.equal(result.status, 'completed', `${runId}: ${JSON.stringify(result)}`);
      assert.deepEqual(result.result.payment, { order }, `${runId} got another run's event`);
    },
  );
}
