/**
 * With Temporal unreachable, definitions without schedules are still accepted (submitting
 * needs only the store), and a definition whose schedule cannot be created answers
 * `503 unavailable` saying that the version was stored and the request can be repeated; an
 * event answers `503` with `Retry-After` within its bound (it was not accepted).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { EVENT_RESPONSE_MS } from '../../src/gateway/run-control.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import { createLogger } from '../../src/logger.js';
import { temporalAddress, unique } from '../support/temporal.js';
import { untilTrue } from '../support/poll.js';

let gateway: RunningGateway;
let dataDir: string;

/** An address nothing listens on: a port the OS gave us and we closed again. */
async function deadAddress(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return `127.0.0.1:${port}`;
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'weft-down-'));
  const config = loadConfig({ TEMPORAL_ADDRESS: await deadAddress(), PORT: '0', WEFT_DATA_DIR: dataDir });
  gateway = await startGateway(config, createLogger('gateway', 'silent'));
});
after(async () => {
  await gateway?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const simple = (id: string, triggers: unknown[] = []) => ({
  id,
  nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
  triggers,
});

describe('Temporal unreachable', () => {
  test('definitions without schedules are accepted; a schedule that cannot be created answers 503', async (t) => {
    const id = unique('offline');
    assert.equal((await call('POST', '/v1/definitions', simple(id, [{ type: 'webhook' }]))).status, 201);
    assert.equal((await call('GET', `/v1/definitions/${id}`)).status, 200);

    const scheduled = unique('offline-scheduled');
    const began = Date.now();
    const response = await call('POST', '/v1/definitions', simple(scheduled, [{ type: 'schedule', cron: '@daily' }]));
    t.diagnostic(`the schedule's 503 took ${Date.now() - began} ms (the Temporal client's retries)`);
    assert.equal(response.status, 503);
    assert.match(response.body.error.message, /version 1 of "[^"]+" is stored/);
    assert.equal((await call('GET', `/v1/definitions/${scheduled}/versions/1`)).status, 200);
  });
});

describe('Temporal unreachable: events', () => {
  test('POST /v1/events answers 503 with Retry-After within its bound, never 500', async (t) => {
    const began = Date.now();
    const response = await fetch(`${gateway.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'order.paid', correlation_key: 'A-1', payload: {}, event_id: 'down-1' }),
    });
    const took = Date.now() - began;
    t.diagnostic(`answered ${response.status} after ${took} ms`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '2');
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unavailable');
    assert.match(body.error.message, /send the event again with "event_id": "down-1"/);
    assert.ok(took < EVENT_RESPONSE_MS, `took ${took} ms (bound ${EVENT_RESPONSE_MS} ms)`);
  });
});

describe('Temporal coming up after the gateway', () => {
  test('/readyz answers 503 while Temporal is unreachable, then 200 once it answers', async () => {
    const address = await deadAddress();
    const [host, port] = address.split(':') as [string, string];
    const dir = mkdtempSync(join(tmpdir(), 'weft-late-'));
    const late = await startGateway(
      loadConfig({ TEMPORAL_ADDRESS: address, PORT: '0', WEFT_DATA_DIR: dir }),
      createLogger('gateway', 'silent'),
    );
    // Temporal "comes up" on that address: a TCP relay to the suite's server.
    const [targetHost, targetPort] = temporalAddress().split(':') as [string, string];
    const relay = createServer((socket) => {
      const upstream = connect(Number(targetPort), targetHost);
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    try {
      const ready = () => fetch(`${late.url}/readyz`).then((r) => r.status);
      assert.equal(await ready(), 503);
      relay.listen(Number(port), host);
      await new Promise((r) => relay.once('listening', r));
      await untilTrue(
        'the gateway to turn ready once Temporal answers',
        async () => (await ready()) === 200,
        180_000,
        500,
      );
    } finally {
      await late.close();
      relay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
