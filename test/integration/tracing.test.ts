/**
 * One trace per run: the gateway's HTTP request, the workflow, each activity and the HTTP call an
 * activity makes share a trace id, and each span's parent is the one before it. Gateway, worker
 * and a local HTTP server run in this process, exporting to memory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import { createLogger } from '../../src/logger.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/telemetry.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { NAMESPACE, temporalAddress, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let gateway: RunningGateway;
let worker: RunningWorker;
let target: HttpTarget;
let dataDir: string;

before(async () => {
  const started = startTelemetry({ serviceName: 'weft-test', exporter });
  assert.ok(started, 'an explicit exporter starts the SDK');
  telemetry = started;
  target = await startHttpTarget({ '/ping': (_req, res) => json(res, 200, { pong: true }) });
  dataDir = mkdtempSync(join(tmpdir(), 'weft-tracing-'));
  const config = loadConfig({
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: unique('tracing'),
    PORT: '0',
    WEFT_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
  });
  gateway = await startGateway(config, createLogger('gateway', 'silent'), { tracing: telemetry });
  worker = await startWorker({
    address: config.temporalAddress,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    tracing: telemetry,
  });
});

after(async () => {
  await worker?.shutdown();
  await gateway?.close();
  await target?.close();
  await telemetry?.shutdown();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<any> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(response.ok, `${path} answered ${response.status}: ${await response.clone().text()}`);
  return response.json();
}

const parentOf = (span: ReadableSpan) => span.parentSpanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

/** Spans end out of order and workflow spans arrive through a sink: wait until `ready` holds. */
async function spansWhen(ready: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  let spans: ReadableSpan[] = [];
  return until(
    () =>
      `the spans to complete the chain; got: ${spans.map((s) => `${s.name} (${s.spanContext().traceId.slice(0, 8)})`).join(', ')}`,
    () => {
      spans = exporter.getFinishedSpans();
      return Promise.resolve(ready(spans) ? spans : undefined);
    },
    15_000,
    100,
  );
}

test('a run started over HTTP is one trace down to the HTTP call inside each activity', async () => {
  const definitionId = unique('traced');
  await post('/v1/definitions', {
    id: definitionId,
    nodes: [
      { id: 'first', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/ping` } },
      { id: 'second', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/ping` } },
    ],
    edges: [{ from: 'first', to: 'second' }],
  });
  const run = await post(`/v1/definitions/${definitionId}/runs`, { input: {} });
  const result: any = await fetch(`${gateway.url}/v1/runs/${run.run_id}/result?wait=true`).then((r) => r.json());
  assert.equal(result.status, 'completed');

  // The request that started the run: the gateway's server span for POST …/runs.
  const isStart = (s: ReadableSpan) =>
    s.kind === SpanKind.SERVER && String(s.attributes['http.target'] ?? '').endsWith(`/${definitionId}/runs`);
  const spans = await spansWhen((all) => {
    const start = all.find(isStart);
    if (!start) return false;
    const inTrace = all.filter((s) => s.spanContext().traceId === start.spanContext().traceId);
    return (
      inTrace.filter((s) => s.name === 'RunActivity:runConnector').length === 2 &&
      inTrace.some((s) => s.name === 'RunWorkflow:interpret') &&
      inTrace.filter((s) => s.kind === SpanKind.SERVER && s.attributes['http.target'] === '/ping').length === 2
    );
  });
  const server = spans.find(isStart)!;
  const traceId = server.spanContext().traceId;
  const trace = spans.filter((s) => s.spanContext().traceId === traceId);
  const one = (name: string, parent: ReadableSpan) => {
    const found = trace.filter((s) => s.name === name && parentOf(s) === idOf(parent));
    assert.equal(found.length, 1, `one ${name} under ${parent.name}; trace: ${trace.map((s) => s.name).join(', ')}`);
    return found[0]!;
  };

  const startWorkflow = one('StartWorkflow:interpret', server);
  const runWorkflow = one('RunWorkflow:interpret', startWorkflow);
  const startActivities = trace.filter((s) => s.name === 'StartActivity:runConnector');
  assert.equal(startActivities.length, 2);
  for (const startActivity of startActivities) {
    assert.equal(parentOf(startActivity), idOf(runWorkflow), 'activities are scheduled by the workflow');
    const runActivity = one('RunActivity:runConnector', startActivity);
    const client = trace.find((s) => s.kind === SpanKind.CLIENT && parentOf(s) === idOf(runActivity));
    assert.ok(client, 'the activity made a traced HTTP call');
    assert.equal(client.attributes['url.full'], `${target.url}/ping`);
    assert.equal(client.attributes['http.response.status_code'], 200);
    // The called server continued the trace from the traceparent header the call carried.
    const called = trace.find((s) => s.kind === SpanKind.SERVER && parentOf(s) === idOf(client));
    assert.ok(called, 'the called server joined the trace');
  }
  assert.ok(
    spans.some((s) => s.name === 'RunWorkflow:interpret' && s.resource.attributes['service.name'] === 'weft-test'),
    'workflow spans carry the process resource',
  );
});
