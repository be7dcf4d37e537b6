/**
 * NATS as the event bus: an event published on the configured JetStream subject reaches the
 * waiting run exactly as POST /v1/events would, and a malformed message is dropped without
 * stopping the consumer; 50 events published at once each reach their own run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const subject = `weft.test.${unique('events')}`;
const stream = unique('WEFT_TEST_EVENTS').replace(/-/g, '_');
let stack: TestStack;
let nc: NatsConnection;

before(async () => {
  stack = await startTestStack({ env: { WEFT_EVENTS_NATS_SUBJECT: subject, WEFT_EVENTS_NATS_STREAM: stream } });
  nc = await connect({ servers: process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222' });
});
after(async () => {
  await stack?.close();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => undefined);
  await nc?.drain();
});

test('an event published on NATS completes the matching waiting run', async () => {
  const id = unique('nats-wait');
  await stack.call('POST', '/v1/definitions', {
    id,
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [
      { id: 'shipped', type: 'event', event_type: 'order.shipped', correlation_key: 'vars.order', output: 'shipment' },
    ],
  });
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order: 'N-1' } });
  const runId = started.body.run_id as string;
  for (let i = 0; i < 100; i++) {
    if ((await stack.call('GET', `/v1/runs/${runId}`)).body.nodes.shipped.status === 'waiting') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const js = jetstream(nc);
  await js.publish(subject, 'not json at all');
  await js.publish(
    subject,
    JSON.stringify({ event_type: 'order.shipped', correlation_key: 'N-2', payload: { carrier: 'wrong' } }),
  );
  await js.publish(
    subject,
    JSON.stringify({ event_type: 'order.shipped', correlation_key: 'N-1', payload: { carrier: 'DHL' } }),
  );
  const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
  assert.equal(result.body.status, 'completed');
  assert.deepEqual(result.body.result.shipment, { carrier: 'DHL' });
  // Both well-formed events are in the audit log, named by their subject (the malformed one was dropped).
  // The entry is written once delivery returns, which may be just after the run completed.
  const auditPath = `/v1/audit?actor=${encodeURIComponent(`nats:${subject}`)}`;
  let audit = await stack.call('GET', auditPath);
  for (let i = 0; i < 50 && audit.body.items.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    audit = await stack.call('GET', auditPath);
  }
  assert.deepEqual(
    audit.body.items.map((e: { action: string; target: string; status: number }) => [e.action, e.target, e.status]),
    [
      ['event.deliver', 'order.shipped', 202],
      ['event.deliver', 'order.shipped', 202],
    ],
  );
});

test('50 runs parked on their own keys, 50 events published on NATS at once: every run gets its own', async () => {
  const id = unique('nats-many');
  const type = unique('order.packed');
  await stack.call('POST', '/v1/definitions', {
    id,
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [{ id: 'packed', type: 'event', event_type: type, correlation_key: 'vars.order', output: 'packing' }],
  });
  const orders = Array.from({ length: 50 }, (_, i) => `P-${i}`);
  const runIds: string[] = [];
  for (const order of orders) {
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    runIds.push(started.body.run_id as string);
  }
  const js = jetstream(nc);
  // Right after the starts, whether or not each run waits yet: a mailbox keeps what comes early.
  await Promise.all(
    orders.map((order) =>
      js.publish(subject, JSON.stringify({ event_type: type, correlation_key: order, payload: { order } })),
    ),
  );
  for (const [i, runId] of runIds.entries()) {
    let result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    for (let n = 0; n < 5 && result.body.status === 'running'; n++)
      result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.equal(result.body.status, 'completed', `${runId}: ${JSON.stringify(result.body)}`);
    assert.deepEqual(result.body.result.packing, { order: orders[i] }, `${runId} got another run's event`);
  }
});
