/**
 * NATS as the event bus: an event published on the configured JetStream subject reaches the
 * waiting run exactly as POST /v1/events would, and a malformed message is dropped without
 * stopping the consumer; 50 events published 8 at a time each reach their own run, both when
 * published after the runs wait and before the runs start (their mailboxes keep them).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTestStack, type TestStack } from '../support/gateway.js';
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
import { untilTrue } from '../support/poll.js';

const RUNS = 50;

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
  await untilTrue(
    'the run to wait for its event',
    async () => (await stack.call('GET', `/v1/runs/${runId}`)).body.nodes.shipped.status === 'waiting',
    180_000,
    100,
  );
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
  const audit = await until(
    'two audit entries',
    async () => {
      const page = await stack.call('GET', auditPath);
      return page.body.items.length >= 2 ? page : undefined;
    },
    180_000,
    100,
  );
  assert.deepEqual(
    audit.body.items.map((e: { action: string; target: string; status: number }) => [e.action, e.target, e.status]),
    [
      ['event.deliver', 'order.shipped', 202],
      ['event.deliver', 'order.shipped', 202],
    ],
  );
});

/** Publishes one event per order on the subject, AT_ONCE at a time (each awaits JetStream's ack). */
async function publishEvents(type: string, orders: string[]): Promise<void> {
  const js = jetstream(nc);
  await inBatches(orders, AT_ONCE, (order) =>
    js.publish(
      subject,
      JSON.stringify({ event_type: type, correlation_key: order, payload: { order }, event_id: `n-${order}` }),
    ),
  );
}

test(`${RUNS} runs waiting on their own keys, ${RUNS} events published on NATS ${AT_ONCE} at a time: every run gets its own`, async () => {
  const { id, type } = await parkedDefinition(stack);
  const orders = Array.from({ length: RUNS }, (_, i) => `after-${i}`);
  const runIds = await startRuns(stack, id, orders);
  await untilWaiting(stack, runIds);
  await publishEvents(type, orders);
  await assertOwnPayloads(stack, runIds, orders);
});

test(`${RUNS} events published on NATS before their runs start: every run gets its own`, async () => {
  const { id, type } = await parkedDefinition(stack);
  const orders = Array.from({ length: RUNS }, (_, i) => `before-${i}`);
  await publishEvents(type, orders);
  // The gateway's consumer takes them in its own time: each is in its mailbox once the audit log says so.
  const auditPath = `/v1/audit?actor=${encodeURIComponent(`nats:${subject}`)}&target=${encodeURIComponent(type)}&limit=1000`;
  await until('the events to be accepted', async () => {
    const audit = await stack.call('GET', auditPath);
    const accepted = (audit.body?.items ?? []).filter((e: { status: number }) => e.status === 202);
    return accepted.length >= RUNS ? true : undefined;
  });
  const runIds = await startRuns(stack, id, orders);
  await assertOwnPayloads(stack, runIds, orders);
});
