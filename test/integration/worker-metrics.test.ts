/**
 * The worker's Prometheus series on the real dev server: the activity interceptor times every
 * attempt per connector and action, counts retries, and adds up AI tokens and cost; the tiny
 * metrics server serves them as Prometheus text. The workflows' event sinks count deliveries with
 * their latency, and the events mailboxes keep and let expire. The limiters' flow sinks gauge the
 * executions waiting for permits and time each grant's wait; a waiting run's Web UI details name
 * the node, key and place in line it waits at.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { publishToMailbox } from '../../activities/event-mailbox.js';
import { serveMetrics, type MetricsServer } from '../../src/metrics/serve-metrics.js';
import { createWorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startRun } from '../support/runs.js';
import { until } from '../support/poll.js';
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
/** Calls to `/held`, answered by the test. */
const held: ServerResponse[] = [];

before(async () => {
  fake = await startFakeOpenAi();
  // Fails the first call (retried: 5xx), answers the second.
  target = await startHttpTarget({
    '/flaky': (_req, res, nth) => json(res, nth === 1 ? 503 : 200, { nth }),
    '/held': (_req, res) => void held.push(res),
  });
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
  for (const res of held) res.destroy();
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

/** Scrapes until `ready` holds for the served text (sinks report after the workflow task that made them). */
async function scrapeUntil(what: string, ready: (text: string) => boolean): Promise<string> {
  let text = '';
  return until(
    () => `${what} at /metrics:\n${text}`,
    async () => {
      text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      return ready(text) ? text : undefined;
    },
    120_000,
  );
}

test('event deliveries and their latency, events kept for later and events expired are counted per tenant', async () => {
  const type = unique('metered-event');
  const tenant = { tenant: 'default' };
  const count = (text: string, name: string, labels: Record<string, string> = tenant) =>
    sample(text, name, labels) ?? 0;

  // Published before any run waits: its mailbox keeps it for a run that waits later.
  await publishToMailbox(client, 'default', taskQueue, {
    event_type: type,
    correlation_key: 'early',
    payload: { paid: 12 },
    event_id: `${type}-early`,
    accepted_at: new Date().toISOString(),
  });
  await scrapeUntil('a kept event', (text) => count(text, 'weft_events_pending') >= 1);

  // A run that waits for it later takes it from the mailbox: one delivery, with its latency.
  const handle = await startRun(client, taskQueue, {
    id: 'metered-events',
    nodes: [{ id: 'paid', type: 'event', event_type: type, correlation_key: '"early"' }],
  });
  await handle.result();
  const delivered = await scrapeUntil('a delivery', (text) => count(text, 'weft_events_delivered_total') >= 1);
  assert.equal(count(delivered, 'weft_events_delivered_total'), 1, delivered);
  assert.equal(count(delivered, 'weft_event_delivery_seconds_count'), 1, delivered);
  assert.ok(count(delivered, 'weft_event_delivery_seconds_sum') >= 0, delivered);

  // An event kept for one second that no run takes expires from its mailbox.
  await publishToMailbox(
    client,
    'default',
    taskQueue,
    { event_type: type, correlation_key: 'late', payload: {}, event_id: `${type}-late` },
    1_000,
  );
  const expired = await scrapeUntil(
    'an expired event',
    (text) => count(text, 'weft_events_expired_total', { ...tenant, reason: 'retention' }) >= 1,
  );
  assert.equal(count(expired, 'weft_events_expired_total', { ...tenant, reason: 'retention' }), 1, expired);
  assert.equal(count(expired, 'weft_events_expired_total', { ...tenant, reason: 'overflow' }), 0, expired);
});

test('executions waiting for a permit are gauged per definition and node, the wait of each grant is timed, and the Web UI details say what a run waits for', async () => {
  const id = unique('metered-flow');
  const labels = { definition_id: id, node: 'call' };
  const definition = {
    id,
    variables: [{ name: 'customer', type: 'string', default: 'acme' }],
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        resource_limits: { max_concurrency: 1, concurrency_key: 'vars.customer' },
        inputs: { url: `${target.url}/held`, timeout: '120s' },
      },
    ],
  };
  const runs = [await startRun(client, taskQueue, definition)];
  await until('the first call held', () => Promise.resolve(held.length === 1 || undefined));
  for (let i = 0; i < 3; i++) runs.push(await startRun(client, taskQueue, definition));
  const waiting = await scrapeUntil('three waiting', (text) => sample(text, 'weft_flow_waiting', labels) === 3);
  assert.equal(sample(waiting, 'weft_flow_permit_wait_seconds_count', labels), 1, waiting);

  // The Web UI's current details of each waiting run name its node, key and place in line. The
  // runs asked the limiter from their own activities, so their order in line is not their start order.
  await until('the details of places 1, 2 and 3 in line', async () => {
    const places = await Promise.all(
      runs.slice(1).map(async (run) => {
        const metadata = await run.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
        return /waiting for a permit: `call` · key `acme` · place (\d) in line/.exec(
          metadata.currentDetails ?? '',
        )?.[1];
      }),
    );
    return places.sort().join(',') === '1,2,3' || undefined;
  });

  for (let answered = 0; answered < 4; answered++) {
    await until(`call ${answered + 1}`, () => Promise.resolve(held.length > answered || undefined));
    json(held[answered] as ServerResponse, 200, {});
  }
  for (const run of runs) await run.result();
  const done = await scrapeUntil('none waiting', (text) => sample(text, 'weft_flow_waiting', labels) === 0);
  assert.equal(sample(done, 'weft_flow_permit_wait_seconds_count', labels), 4, done);
  // The three that waited waited at least for the first call to be answered: some non-zero time.
  assert.ok((sample(done, 'weft_flow_permit_wait_seconds_sum', labels) ?? 0) > 0, done);
});
