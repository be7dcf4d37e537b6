/**
 * The `nats` connector through a real Temporal worker against the local NATS server with
 * JetStream: core and JetStream publish, request/reply, timeouts and missing responders.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { egressEntry } from '../support/egress.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { unique } from '../support/temporal.js';
import type { CallOutcome } from '../support/test-workflows.js';

const SERVER = process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222';
const prefix = unique('weft').replace(/-/g, '_');
const stream = prefix.toUpperCase();
let nc: NatsConnection;
let jsm: JetStreamManager;
let worker: ActivityWorker;

before(async () => {
  nc = await connect({ servers: SERVER });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.js.>`] });
  worker = await startActivityWorker({
    registry: new ConnectorRegistry({ env: { WEFT_NATS_URL: SERVER, WEFT_EGRESS_ALLOW: egressEntry(SERVER) } }),
  });
});

after(async () => {
  await worker?.shutdown();
  await jsm?.streams.delete(stream).catch(() => undefined);
  await nc?.drain();
});

function natsCall(action: string, params: unknown, maximumAttempts = 1): Promise<CallOutcome> {
  return worker.call('runConnector', { connector: 'nats', action, params }, { maximumAttempts });
}

async function ok(action: string, params: unknown): Promise<any> {
  const outcome = await natsCall(action, params);
  if (!outcome.ok) throw new Error(`${outcome.error.type}: ${outcome.error.message}`);
  return (outcome.value as { output: unknown }).output;
}

function failure(outcome: CallOutcome) {
  if (outcome.ok) throw new Error('expected the call to fail');
  return outcome.error;
}

/** Resolves with the next message on a subject. */
function nextMessage(subject: string): Promise<Msg> {
  const sub = nc.subscribe(subject, { max: 1 });
  return (async () => {
    for await (const msg of sub) return msg;
    throw new Error('subscription closed');
  })();
}

describe('nats connector', () => {
  test('publish: JSON data and headers reach a subscriber', async () => {
    const subject = `${prefix}.core.orders`;
    const received = nextMessage(subject);
    await nc.flush();
    const output = await ok('publish', { subject, data: { id: 7 }, headers: { 'x-run': 'r1' } });
    assert.deepEqual(output, { published: true });
    const msg = await received;
    assert.deepEqual(msg.json(), { id: 7 });
    assert.equal(msg.headers?.get('x-run'), 'r1');
  });

  test('publish with jetstream: the stream acknowledges with its sequence; msg_id de-duplicates', async () => {
    const subject = `${prefix}.js.created`;
    const first = await ok('publish', { subject, data: 'hello', jetstream: true, msg_id: 'm-1' });
    assert.deepEqual(first, { published: true, stream, seq: 1, duplicate: false });
    const again = await ok('publish', { subject, data: 'hello', jetstream: true, msg_id: 'm-1' });
    assert.deepEqual(again, { published: true, stream, seq: 1, duplicate: true });
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    assert.equal(stored?.string(), 'hello');
  });

  test('publish with jetstream to a subject no stream takes is a retryable NoResponders', async () => {
    const error = failure(await natsCall('publish', { subject: `${prefix}.nowhere`, data: 1, jetstream: true }, 2));
    assert.equal(error.type, 'NoResponders');
    assert.equal(error.nonRetryable, false);
  });

  test('request: the reply comes back JSON-parsed, or as text', async () => {
    const subject = `${prefix}.svc.price`;
    const sub = nc.subscribe(subject);
    void (async () => {
      for await (const msg of sub) {
        const ask = msg.json<{ sku: string }>();
        msg.respond(ask.sku === 'text' ? 'plain answer' : JSON.stringify({ sku: ask.sku, price: 42 }));
      }
    })();
    await nc.flush();
    assert.deepEqual(await ok('request', { subject, data: { sku: 'A1' } }), { sku: 'A1', price: 42 });
    assert.equal(await ok('request', { subject, data: { sku: 'text' } }), 'plain answer');
    sub.unsubscribe();
  });

  test('request: no reply within timeout is a retryable Timeout; nobody listening is NoResponders', async () => {
    const subject = `${prefix}.svc.silent`;
    const sub = nc.subscribe(subject);
    await nc.flush();
    const started = Date.now();
    const timeout = failure(await natsCall('request', { subject, data: 'x', timeout: '300ms' }));
    assert.equal(timeout.type, 'Timeout');
    assert.equal(timeout.nonRetryable, false);
    assert.match(timeout.message, /no answer within 300 ms/);
    assert.ok(Date.now() - started >= 300);
    sub.unsubscribe();

    const nobody = failure(await natsCall('request', { subject: `${prefix}.svc.none`, data: 'x' }));
    assert.equal(nobody.type, 'NoResponders');
  });

  test('a subject with spaces is InvalidParams', async () => {
    const error = failure(await natsCall('publish', { subject: 'has space', data: 1 }, 3));
    assert.equal(error.type, 'InvalidParams');
    assert.equal(error.nonRetryable, true);
  });
});
