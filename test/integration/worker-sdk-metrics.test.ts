/**
 * `WEFT_WORKER_SDK_METRICS_PORT`: a worker process serves the Temporal SDK's own Prometheus
 * series, and once it has run a workflow task and an activity the backlog histograms
 * (workflow and activity schedule-to-start latency) are among them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../src/temporal/dev-server.js';
import { json, startHttpTarget } from '../support/http-target.js';
import { until } from '../support/poll.js';
import { startRun } from '../support/runs.js';
import { connectClient, unique } from '../support/temporal.js';
import { workerProcesses } from '../support/worker-process.js';

test('the worker serves the SDK metrics with task schedule-to-start latencies', async () => {
  const target = await startHttpTarget({ '/ok': (_req, res) => json(res, 200, { ok: true }) });
  const taskQueue = unique('sdk-metrics');
  const port = await freePort();
  const pool = workerProcesses(taskQueue, { WEFT_WORKER_SDK_METRICS_PORT: String(port) });
  const { client, connection } = await connectClient();
  try {
    pool.spawn();
    const handle = await startRun(client, taskQueue, {
      id: 'sdk-metrics',
      nodes: [{ id: 'call', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/ok` } }],
    });
    await handle.result();
    const text = await until('the schedule-to-start series', async () => {
      const body = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      return body.includes('temporal_workflow_task_schedule_to_start_latency') &&
        body.includes('temporal_activity_schedule_to_start_latency')
        ? body
        : undefined;
    });
    assert.match(text, /temporal_activity_schedule_to_start_latency_count\{[^}]*task_queue="[^"]+"[^}]*\} [1-9]/);
  } finally {
    pool.cleanup();
    await connection.close();
    await target.close();
  }
});
