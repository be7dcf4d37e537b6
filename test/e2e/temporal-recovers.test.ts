/**
 * Issue 19, "also measured": while Temporal recovered, `POST /v1/events` answered 500
 * ("Workflow Task in failed state"). Here a Temporal server of the test's own (a dev server with
 * a database file, so it keeps its runs) is stopped under a running gateway and worker and
 * started again on the same port, while the same event is posted over and over: every answer
 * is 202, 429 or 503 (with Retry-After), never another 5xx, each within the documented bound,
 * and once Temporal is back the event reaches the run that was waiting for it before the outage.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { EVENT_RESPONSE_MS } from '../../src/gateway/run-control.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import { freeFixedPort, startDevServer, type TemporalServer } from '../../src/temporal/dev-server.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { unique } from '../support/temporal.js';
import { until, untilTrue } from '../support/poll.js';

let dataDir: string;
let port: number;
let server: TemporalServer | undefined;
let gateway: RunningGateway;
let worker: RunningWorker;

const quiet = () => undefined;
const startServer = () => startDevServer({ port, headless: true, dbFile: join(dataDir, 'temporal.db'), log: quiet });

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'weft-recovers-'));
  port = await freeFixedPort();
  server = await startServer();
  const taskQueue = unique('recovers');
  const config = loadConfig({
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    PORT: '0',
    WEFT_DATA_DIR: join(dataDir, 'gateway'),
    LOG_LEVEL: 'silent',
  });
  gateway = await startGateway(config, createLogger('gateway', 'silent'));
  worker = await startWorker({ address: server.address, namespace: 'default', taskQueue });
});

after(async () => {
  await worker?.shutdown();
  await gateway?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: text ? JSON.parse(text) : undefined,
  };
}

test(
  'POST /v1/events while Temporal restarts: 202, 429 or 503, never 500; the event then reaches its run',
  { timeout: 600_000 },
  async (t) => {
    const id = unique('recovers');
    const type = unique('order.paid');
    const submitted = await call('POST', '/v1/definitions', {
      id,
      nodes: [{ id: 'paid', type: 'event', event_type: type, correlation_key: "'R-1'", output: 'payment' }],
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const started = await call('POST', `/v1/definitions/${id}/runs`, {});
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const runId = started.body.run_id as string;
    await until('the run to wait', async () => {
      const state = await call('GET', `/v1/runs/${runId}`);
      return state.body?.nodes?.paid?.status === 'waiting' ? true : undefined;
    });

    // Temporal goes away under the gateway and the worker, and comes back on the same address.
    await server?.stop();
    server = undefined;
    const answers: Array<{ status: number; ms: number; retryAfter: string | null; message?: string }> = [];
    const event = { event_type: type, correlation_key: 'R-1', payload: { amount: 7 }, event_id: 'recovers-1' };
    let restarting: Promise<Error | undefined> | undefined;
    // Bounded by the 200 posts asserted below; the time bound only backs it up.
    await untilTrue(
      'a 202 for the event',
      async () => {
        // The first post meets no Temporal at all (it retries for 10 s, then 503); then it comes back while we post.
        if (answers.length === 1) {
          // Retried while the port is not yet free; settles with the last failure instead of rejecting unseen.
          let lastError: Error | undefined;
          const attempt = () =>
            startServer().then(
              (started) => (server = started),
              (err: Error) => void (lastError = err),
            );
          restarting = until('Temporal to start again', attempt, 120_000).then(
            () => undefined,
            () => lastError ?? new Error('it never started'),
          );
        }
        const begun = Date.now();
        const answer = await call('POST', '/v1/events', event);
        answers.push({
          status: answer.status,
          ms: Date.now() - begun,
          retryAfter: answer.retryAfter,
          message: answer.body?.error?.message,
        });
        if (answer.status === 202) return true;
        const failed = restarting && (await Promise.race([restarting, Promise.resolve('pending')]));
        if (failed instanceof Error) assert.fail(`Temporal did not start again: ${failed.message}`);
        assert.ok(answers.length < 200, `no 202 after ${answers.length} posts: ${JSON.stringify(answers.slice(-3))}`);
        return false;
      },
      1_200_000,
    );
    assert.equal(await restarting, undefined, 'Temporal started again');
    assert.equal(answers[0]?.status, 503, 'the post while Temporal was down');
    t.diagnostic(`answers: ${answers.map((a) => `${a.status}/${a.ms}ms`).join(', ')}`);
    const refused = answers.filter((a) => a.status !== 202);
    assert.ok(refused.length >= 1, 'at least one post landed while Temporal was down');
    for (const answer of answers) {
      assert.ok([202, 429, 503].includes(answer.status), `answered ${answer.status}: ${answer.message}`);
      assert.ok(answer.ms < EVENT_RESPONSE_MS, `answered after ${answer.ms} ms (bound ${EVENT_RESPONSE_MS} ms)`);
      if (answer.status !== 202) {
        assert.equal(answer.retryAfter, '2');
        assert.match(answer.message ?? '', /send (the event|it) again with "event_id": "recovers-1"/);
      }
    }

    // The run parked before the outage gets the event, once.
    const result = await until('the run to complete', async () => {
      const r = await call('GET', `/v1/runs/${runId}/result?wait=true`);
      return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
    });
    assert.equal(result.status, 'completed', JSON.stringify(result));
    assert.deepEqual(result.result.payment, { amount: 7 });
  },
);
