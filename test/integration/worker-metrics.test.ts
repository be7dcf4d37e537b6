/**
 * The worker's Prometheus series on the real dev server: the activity interceptor times every
 * attempt per connector and action, counts retries, and adds up AI tokens and cost; the tiny
 * metrics server serves them as Prometheus text.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { serveMetrics, type MetricsServer } from '../../src/metrics/serve-metrics.js';
import { createWorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startRun } from '../support/runs.js';
import { connectClient, NAMESPACE, temporalAddress, unique } from '../support/temporal.js';

const PRICE = { input_per_1m: 0.15, output_per_1m: 0.6 };
const taskQueue = unique('worker-metrics');
const metrics = createWorkerMetrics();
let fake: FakeOpenAi;
let target: HttpTarget;
let worker: RunningWorker;
let server: MetricsServer;
let client: Client;
let connection: Connection;

before(async () => {
  fake = await startFakeOpenAi();
  // Fails the first call (retried: 5xx), answers the second.
  target = await startHttpTarget({ '/flaky': (_req, res, nth) => json(res, nth === 1 ? 503 : 200, { nth }) });
  worker = await startWorker({
    address: temporalAddress(),
    namespace: NAMESPACE,
    taskQueue,
    metrics,
    activityDeps: {
      ai: { baseURL: fake.url, apiKey: fake.apiKey, models: {}, prices: { 'gpt-test-mini': PRICE } },
    },
  });
  server = await serveMetrics(metrics.registry, 0, '127.0.0.1');
  ({ client, connection } = await connectClient());
});
after(async () => {
  await server?.close();
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
  await fake?.close();
});

/** The value of one sample with exactly these labels (any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort()))
      return Number(match[3]);
  }
  return undefined;
}

test('activity durations, retries and AI usage are recorded and served at /metrics', async () => {
  fake.enqueue({ content: 'hello', usage: { prompt_tokens: 100, completion_tokens: 10 } });
  const handle = await startRun(client, taskQueue, {
    id: 'metered',
    nodes: [
      {
        id: 'fetch',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/flaky` },
        retry_policy: { initial_interval: '100ms' },
      },
      { id: 'ask', type: 'ai', model: 'gpt-test-mini', prompt_template: 'Say hello' },
    ],
    edges: [{ from: 'fetch', to: 'ask' }],
  });
  await handle.result();

  const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  const http = { activity: 'runConnector', connector: 'http', action: 'request' };
  assert.equal(sample(text, 'weft_activity_retries_total', http), 1, text);
  assert.equal(sample(text, 'weft_activity_duration_seconds_count', { ...http, outcome: 'error' }), 1);
  assert.equal(sample(text, 'weft_activity_duration_seconds_count', { ...http, outcome: 'ok' }), 1);
  const ai = { activity: 'runAi', connector: '', action: '', outcome: 'ok' };
  assert.equal(sample(text, 'weft_activity_duration_seconds_count', ai), 1);
  assert.equal(sample(text, 'weft_ai_tokens_total', { model: 'gpt-test-mini', kind: 'input' }), 100);
  assert.equal(sample(text, 'weft_ai_tokens_total', { model: 'gpt-test-mini', kind: 'output' }), 10);
  const cost = sample(text, 'weft_ai_cost_usd_total', { model: 'gpt-test-mini' }) ?? 0;
  assert.ok(Math.abs(cost - (100 * PRICE.input_per_1m + 10 * PRICE.output_per_1m) / 1e6) < 1e-12, String(cost));
  assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
});
