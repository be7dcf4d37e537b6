/**
 * Issue 19, "also measured": a `map` without `max_concurrency` over 2,500 items was stuck on
 * Temporal's 2,000-pending-activities limit (and over 5,000 the worker crashed). The quotas cap
 * a map's concurrency, and their ceilings (interpreter/quotas.ts) stay below Temporal's
 * per-workflow limits, so even a tenant at the ceilings runs such a map to the end: here 2,500
 * items (above the 2,000 limit, the size of the report) with `inflight` and `map_concurrency`
 * at their ceilings, and 5,000 items (where the worker crashed): `map_items` (10,000 by default)
 * allows them, and the map runs them in batches of at most `map_concurrency` in flight, so it
 * completes like the smaller one. The per-item work is one call to a local HTTP target with an
 * empty answer.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import {
  QUOTA_CEILINGS,
  QUOTA_DEFAULTS,
  TEMPORAL_PENDING_LIMIT,
  effectiveQuotas,
  runQuotas,
} from '../../interpreter/quotas.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { pause } from '../support/poll.js';

/** Items of each case: above Temporal's 2,000 pending limit, and 5,000, where the worker used to crash. */
const CASES = [2_500, 5_000];
const FailedCause = proto.temporal.api.enums.v1.WorkflowTaskFailedCause;

let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('wide-map');

before(async () => {
  target = await startHttpTarget({ '/item': (_req, res) => json(res, 200, {}) });
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

for (const ITEMS of CASES)
  test(
    `a ${ITEMS}-item map without max_concurrency completes with the quotas at their ceilings`,
    { timeout: 1_500_000 },
    async (t) => {
      assert.ok(ITEMS > TEMPORAL_PENDING_LIMIT, 'more items than Temporal lets one workflow have pending');
      const quotas = runQuotas(
        effectiveQuotas(QUOTA_DEFAULTS, {
          inflight: QUOTA_CEILINGS.inflight,
          map_concurrency: QUOTA_CEILINGS.map_concurrency,
          map_items: ITEMS,
        }),
      );
      const handle = await startRun(
        client,
        taskQueue,
        {
          id: `wide-map-${ITEMS}`,
          nodes: [
            {
              id: 'each',
              type: 'map',
              items: `[1..${ITEMS}]`,
              task: {
                connector: 'http',
                action: 'request',
                retry_policy: { max_attempts: 3 },
                inputs: { url: `${target.url}/item`, query: { n: String(ITEMS), i: '{{ item }}' } },
              },
            },
            {
              id: 'count',
              type: 'set',
              assign: { n: '$count(nodes.each.output)' },
            },
          ],
          edges: [{ from: 'each', to: 'count' }],
        },
        {},
        { quotas },
      );
      // Temporal's own count of the run's pending activities, sampled while it runs.
      let peak = 0;
      let done = false;
      const sampling = (async () => {
        while (!done) {
          const pending = (await handle.describe().catch(() => undefined))?.raw.pendingActivities?.length ?? 0;
          peak = Math.max(peak, pending);
          await pause(500, 'between samples of the pending activities (a sampler, not a wait)');
        }
      })();
      const result = (await handle.result().finally(() => (done = true))) as { n: number };
      await sampling;
      assert.equal(result.n, ITEMS);
      assert.ok(peak > 0 && peak <= QUOTA_CEILINGS.map_concurrency, `at most ${peak} activities were pending at once`);
      const seen = new Set(
        target.requests.filter((r) => r.path === '/item' && r.query.n === String(ITEMS)).map((r) => r.query.i),
      );
      assert.equal(seen.size, ITEMS, 'every item was called');

      // No workflow task of any run of the chain failed on one of Temporal's per-workflow limits
      // (`…_LIMIT_EXCEEDED`), which is what kept such a map stuck. Other failed tasks (retried by
      // Temporal) are reported: at 1,000 items in flight this loaded host shows a few.
      const causes: string[] = [];
      let runs = 0;
      for await (const execution of client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
        runs += 1;
        const history = await client.workflow.getHandle(handle.workflowId, execution.runId).fetchHistory();
        for (const e of history.events ?? []) {
          const failed = e.workflowTaskFailedEventAttributes;
          if (failed) causes.push(FailedCause[failed.cause ?? 0] ?? String(failed.cause));
        }
      }
      assert.ok(runs >= 1);
      t.diagnostic(`${causes.length} workflow tasks failed and were retried across ${runs} runs: ${causes.join(', ')}`);
      assert.deepEqual(
        causes.filter((cause) => /LIMIT_EXCEEDED/.test(cause)),
        [],
        "no workflow task failed on Temporal's pending limits",
      );
    },
  );
