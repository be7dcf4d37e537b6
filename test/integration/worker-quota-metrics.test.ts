/**
 * The worker's quota series on the real dev server: a connector response over its
 * `max_response_bytes` (the `response_bytes` quota) fails the node with ResponseTooLarge and is
 * counted as `weft_quota_refusals_total{tenant, quota="response_bytes", at="run"}` by the
 * worker's activity interceptor, under the tenant of the run's workflow id.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { serveMetrics, type MetricsServer } from '../../src/metrics/serve-metrics.js';
import { createWorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { versioned } from '../support/runs.js';
import { connectClient, NAMESPACE, temporalAddress, unique } from '../support/temporal.js';

const taskQueue = unique('quota-metrics');
const metrics = createWorkerMetrics();
let target: HttpTarget;
let worker: RunningWorker;
let server: MetricsServer;
let client: Client;
let connection: Connection;

before(async () => {
  target = await startHttpTarget({ '/big': (_req, res) => json(res, 200, { data: 'x'.repeat(1_000) }) });
  worker = await startWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue, metrics });
  server = await serveMetrics(metrics.registry, 0, '127.0.0.1');
  ({ client, connection } = await connectClient());
});
after(async () => {
  await server?.close();
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

test('a response over max_response_bytes is counted as a response_bytes quota refusal of the run tenant', async () => {
  const tenant = unique('acme');
  const definition = versioned({
    id: 'too-big',
    nodes: [
      {
        id: 'fetch',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/big`, max_response_bytes: 100 },
      },
    ],
  });
  // A tenant's run, as the gateway names it: `<tenant>/<run id>`.
  const handle = await client.workflow.start('interpret', {
    taskQueue,
    workflowId: `${tenant}/${unique('run')}`,
    args: [{ definition, input: {} }],
  });
  const failure = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(failure instanceof WorkflowFailedError, String(failure));
  assert.match(String(failure.cause?.message), /exceeds the cap of 100 bytes/);

  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  assert.ok(
    text.split('\n').includes(`weft_quota_refusals_total{tenant="${tenant}",quota="response_bytes",at="run"} 1`),
    text,
  );
});

test('a node refused by a run-time quota is counted once, by quota and tenant', async () => {
  const tenant = unique('acme');
  const definition = versioned({
    id: 'too-many',
    variables: [{ name: 'n', type: 'number' }],
    nodes: [
      {
        id: 'each',
        type: 'map',
        items: '[1..vars.n]',
        task: { connector: 'http', action: 'request', inputs: { url: `${target.url}/big` } },
      },
    ],
  });
  const handle = await client.workflow.start('interpret', {
    taskQueue,
    workflowId: `${tenant}/${unique('run')}`,
    // As the gateway starts a run: the tenant's run-time quotas in the input.
    args: [
      {
        definition,
        input: { n: 20 },
        quotas: { inflight: 10, map_concurrency: 5, map_items: 10, timer_horizon_ms: 3_600_000, response_bytes: 4096 },
      },
    ],
  });
  const failure = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(failure instanceof WorkflowFailedError, String(failure));
  assert.match(String(failure.cause?.message), /quota "map_items" exceeded/);
  // A query on the closed run replays it; the replay must not count the refusal again.
  await handle.query('state');

  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  assert.ok(
    text.split('\n').includes(`weft_quota_refusals_total{tenant="${tenant}",quota="map_items",at="run"} 1`),
    text,
  );
});
