/**
 * Events through their mailboxes (issue 19), on the real dev server: many runs of one
 * definition parked on events with their own keys, events posted 8 at a time after the runs
 * wait and before they start waiting; an event for a run another gateway started a moment
 * earlier; and a gateway killed (SIGKILL) right after answering 202. Every run must complete
 * with its own payload, no answer may be 5xx, and every POST must be answered within the
 * documented bound (EVENT_RESPONSE_MS).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { EVENT_RESPONSE_MS } from '../../src/gateway/run-control.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import type { ServerResponse } from 'node:http';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import {
  AT_ONCE,
  assertOwnPayloads,
  inBatches,
  parkedDefinition,
  startRuns,
  until,
  untilWaiting,
} from '../support/events.js';
import { unique } from '../support/temporal.js';
import { pause } from '../support/poll.js';

const RUNS = 50;
const gatewayScript = fileURLToPath(new URL('../../src/cli/gateway.js', import.meta.url));

let stack: TestStack;
let second: RunningGateway | undefined;
let target: HttpTarget;
const held: ServerResponse[] = [];
const children: ChildProcess[] = [];

before(async () => {
  // Calls to /hold are answered only when the test releases them: the run is busy before it waits.
  target = await startHttpTarget({ '/hold': (_req, res) => void held.push(res) });
  stack = await startTestStack();
});
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const res of held.splice(0)) json(res, 200, {});
  await second?.close();
  await stack?.close();
  await target?.close();
});

/** Posts one event per order, 8 at a time; asserts no 5xx and every answer within the bound. */
async function postEvents(
  type: string,
  orders: string[],
  post: (body: unknown) => Promise<{ status: number; body: any }> = (body) => stack.call('POST', '/v1/events', body),
): Promise<{ slowestMs: number }> {
  let slowestMs = 0;
  const answers = await inBatches(orders, AT_ONCE, async (order) => {
    const begun = Date.now();
    const sent = await post({ event_type: type, correlation_key: order, payload: { order }, event_id: `e-${order}` });
    slowestMs = Math.max(slowestMs, Date.now() - begun);
    return sent;
  });
  const bad = answers.filter((a) => a.status !== 202);
  assert.deepEqual(
    bad.map((a) => [a.status, JSON.stringify(a.body)]),
    [],
    'every event is accepted (none answered 4xx/5xx)',
  );
  assert.ok(slowestMs < EVENT_RESPONSE_MS, `the slowest POST took ${slowestMs} ms (bound ${EVENT_RESPONSE_MS} ms)`);
  return { slowestMs };
}

test(`${RUNS} runs parked on their own keys, ${RUNS} events posted ${AT_ONCE} at a time: every run gets its own`, async (t) => {
  const { id, type } = await parkedDefinition(stack);
  const orders = Array.from({ length: RUNS }, (_, i) => `after-${i}`);
  const runIds = await startRuns(stack, id, orders);
  await untilWaiting(stack, runIds);
  const { slowestMs } = await postEvents(type, orders);
  t.diagnostic(`slowest POST /v1/events: ${slowestMs} ms`);
  await assertOwnPayloads(stack, runIds, orders);
});

test(`${RUNS} events posted before their runs start waiting: every run gets its own`, async (t) => {
  const { id, type } = await parkedDefinition(stack);
  const orders = Array.from({ length: RUNS }, (_, i) => `before-${i}`);
  const { slowestMs } = await postEvents(type, orders);
  t.diagnostic(`slowest POST /v1/events: ${slowestMs} ms`);
  // The same event again is accepted and not delivered twice (the runs' dedup by event id).
  await postEvents(type, orders.slice(0, AT_ONCE));
  const runIds = await startRuns(stack, id, orders);
  await assertOwnPayloads(stack, runIds, orders);
  // Every run saw its event once: one `completed` transition of the event node, nothing buffered left.
  for (const runId of runIds.slice(0, AT_ONCE)) {
    const state = await stack.call('GET', `/v1/runs/${runId}`);
    assert.equal(state.body.history.filter((h: any) => h.node === 'paid' && h.to === 'completed').length, 1);
  }
});

test("101 other keys' events posted while a run is busy do not push out its own early event", async () => {
  const id = unique('busy');
  const type = unique('order.paid');
  const submitted = await stack.call('POST', '/v1/definitions', {
    id,
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [
      {
        id: 'busy',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${target.url}/hold`, timeout: '120s' },
      },
      { id: 'paid', type: 'event', event_type: type, correlation_key: 'vars.order', output: 'payment' },
    ],
    edges: [{ from: 'busy', to: 'paid' }],
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const [runId] = await startRuns(stack, id, ['mine']);
  await until('the run to be busy', () => Promise.resolve(held.length > 0 ? true : undefined));
  await postEvents(type, ['mine']);
  await postEvents(
    type,
    Array.from({ length: 101 }, (_, i) => `other-${i}`),
  );
  for (const res of held.splice(0)) json(res, 200, {});
  await assertOwnPayloads(stack, [runId as string], ['mine']);
});

test('an event for a run another gateway started 10 ms earlier is delivered', async () => {
  second = await startGateway({ ...stack.config, port: 0 }, createLogger('gateway-b', 'silent'));
  const { id, type } = await parkedDefinition(stack);
  const callB = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${second?.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const runIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    const order = `b-${i}`;
    const started = await callB('POST', `/v1/definitions/${id}/runs`, { input: { order } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    runIds.push(started.body.run_id as string);
    await pause(10, 'a start and its event a moment apart');
    const sent = await stack.call('POST', '/v1/events', {
      event_type: type,
      correlation_key: order,
      payload: { order },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    assert.match(sent.body.event_id, /^evt-/);
  }
  await assertOwnPayloads(
    stack,
    runIds,
    runIds.map((_, i) => `b-${i}`),
  );
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

test('a gateway killed (SIGKILL) right after answering 202 loses no event', async () => {
  const { id, type } = await parkedDefinition(stack);
  const port = await freePort();
  const child = spawn(process.execPath, [gatewayScript], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: stack.config.databaseUrl,
      TEMPORAL_ADDRESS: stack.config.temporalAddress,
      TEMPORAL_NAMESPACE: stack.config.namespace,
      TEMPORAL_TASK_QUEUE: stack.config.taskQueue,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await until(
    'the spawned gateway to answer',
    async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined),
    60_000,
  );
  // One run already waits; the other starts only after the gateway that took its event is dead.
  const [waiting] = await startRuns(stack, id, ['k-waiting']);
  await until('the run to wait', async () => {
    const state = await stack.call('GET', `/v1/runs/${waiting}`);
    return state.body?.nodes?.paid?.status === 'waiting' ? true : undefined;
  });
  const exited = once(child, 'exit');
  for (const order of ['k-waiting', 'k-later']) {
    const response = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: type, correlation_key: order, payload: { order } }),
    });
    assert.equal(response.status, 202, await response.text());
  }
  child.kill('SIGKILL');
  await exited;
  assert.equal(child.signalCode, 'SIGKILL');
  const [later] = await startRuns(stack, id, ['k-later']);
  await assertOwnPayloads(stack, [waiting as string, later as string], ['k-waiting', 'k-later']);
});
