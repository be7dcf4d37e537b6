/**
 * Events without a correlation key (broadcast to a type), issue 19: they stay supported,
 * bounded and documented. Every run waiting for the type with a `null` key hears one (runs of
 * several definitions), runs waiting with a key do not; and the keyless mailbox keeps what any
 * mailbox keeps, at most MAILBOX_EVENT_LIMIT events or MAILBOX_BYTE_LIMIT bytes of them, the
 * oldest dropped first, so a run that starts waiting later gets the oldest event still kept.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mailboxWorkflowId } from '../../activities/event-mailbox.js';
import { MAILBOX_BYTE_LIMIT, type MailboxView } from '../../workflows/event-mailbox.js';
import { AT_ONCE, inBatches } from '../support/events.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { connectClient, unique } from '../support/temporal.js';
import type { Client, Connection } from '@temporalio/client';
import { until } from '../support/poll.js';

let stack: TestStack;
let client: Client;
let connection: Connection;

before(async () => {
  stack = await startTestStack();
  ({ client, connection } = await connectClient());
});
after(async () => {
  await connection?.close();
  await stack?.close();
});

async function define(type: string, key: string): Promise<string> {
  const id = unique('listens');
  const submitted = await stack.call('POST', '/v1/definitions', {
    id,
    variables: [{ name: 'k', type: 'string' }],
    nodes: [{ id: 'hear', type: 'event', event_type: type, correlation_key: key, output: 'heard' }],
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  return id;
}

async function start(id: string, input: Record<string, unknown> = {}): Promise<string> {
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  return started.body.run_id as string;
}

const state = async (runId: string) => (await stack.call('GET', `/v1/runs/${runId}`)).body;
const waiting = (runId: string) =>
  until(`${runId} to wait`, async () => ((await state(runId))?.nodes?.hear?.status === 'waiting' ? true : undefined));
const outcome = (runId: string) =>
  until(`${runId} to close`, async () => {
    const r = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
  });

test('an event without a key reaches every run waiting with a null key, of any definition, and no keyed one', async () => {
  const type = unique('announce');
  const first = await define(type, 'null');
  const second = await define(type, 'null');
  const keyed = await define(type, 'vars.k');
  const broadcast = [await start(first), await start(first), await start(second)];
  const own = await start(keyed, { k: 'x' });
  for (const runId of [...broadcast, own]) await waiting(runId);

  const posted = await stack.call('POST', '/v1/events', { event_type: type, payload: { n: 1 }, event_id: unique('b') });
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  for (const runId of broadcast) {
    const result = await outcome(runId);
    assert.equal(result.status, 'completed', JSON.stringify(result));
    assert.deepEqual(result.result.heard, { n: 1 });
  }
  assert.equal((await state(own)).nodes.hear.status, 'waiting', 'a run waiting with a key does not hear it');
  await stack.call('POST', `/v1/runs/${own}/cancel`, { reason: 'done' });
});

test('the keyless mailbox keeps at most its byte bound, oldest dropped: a later run gets the oldest kept', async () => {
  const type = unique('bulletin');
  // 280 KB each: five fit in MAILBOX_BYTE_LIMIT (1.5 MB), six do not.
  const size = 280_000;
  assert.ok(5 * size < MAILBOX_BYTE_LIMIT && 6 * size > MAILBOX_BYTE_LIMIT);
  for (let n = 1; n <= 8; n++) {
    const posted = await stack.call('POST', '/v1/events', {
      event_type: type,
      payload: { n, filler: 'f'.repeat(size) },
      event_id: `bulletin-${n}`,
    });
    assert.equal(posted.status, 202, JSON.stringify(posted.body).slice(0, 300));
  }
  const mailbox = client.workflow.getHandle(mailboxWorkflowId('default', stack.config.taskQueue, type, null));
  const view = await mailbox.query<MailboxView>('mailbox');
  assert.equal(view.correlation_key, null);
  assert.equal(view.events, 5, 'events 4 to 8 kept, 1 to 3 dropped');

  const late = await start(await define(type, 'null'));
  const result = await outcome(late);
  assert.equal(result.status, 'completed', JSON.stringify(result).slice(0, 300));
  assert.equal(result.result.heard.n, 4, 'the oldest event still kept');
});

test('sizes are UTF-8 bytes: events of two-byte characters fill the byte bound at half as many characters', async () => {
  const type = unique('bulletin-utf8');
  // 140,000 "é" each: 280 KB of UTF-8 (140,000 UTF-16 units): five fit, not eight.
  for (let n = 1; n <= 8; n++) {
    const posted = await stack.call('POST', '/v1/events', {
      event_type: type,
      payload: { n, filler: 'é'.repeat(140_000) },
      event_id: `utf8-${n}`,
    });
    assert.equal(posted.status, 202, JSON.stringify(posted.body).slice(0, 300));
  }
  const mailbox = client.workflow.getHandle(mailboxWorkflowId('default', stack.config.taskQueue, type, null));
  assert.equal((await mailbox.query<MailboxView>('mailbox')).events, 5, 'counted as UTF-8, events 4 to 8 kept');
});

const WAITERS = 200;

test(`a 300 KB broadcast to ${WAITERS} keyless waiters reaches all, the mailbox continuing as new between batches`, async () => {
  const type = unique('broadcast-big');
  const id = await define(type, 'null');
  const runIds = await inBatches(
    Array.from({ length: WAITERS }, (_, i) => i),
    AT_ONCE,
    () => start(id),
  );
  await inBatches(runIds, AT_ONCE, waiting);
  const mailboxId = mailboxWorkflowId('default', stack.config.taskQueue, type, null);
  await until('every run registered', async () => {
    const view = await client.workflow.getHandle(mailboxId).query<MailboxView>('mailbox');
    return view.waiting.length === WAITERS ? true : undefined;
  });
  const first = (await client.workflow.getHandle(mailboxId).describe()).runId;
  // 300 KB to each of 200 runs is 60 MB of signals: one mailbox history holds at most 50 MB.
  const posted = await stack.call('POST', '/v1/events', {
    event_type: type,
    payload: { filler: 'b'.repeat(300_000) },
    event_id: unique('big'),
  });
  assert.equal(posted.status, 202, JSON.stringify(posted.body).slice(0, 300));
  await inBatches(runIds, AT_ONCE, async (runId) => {
    const result = await outcome(runId);
    assert.equal(result.status, 'completed', `${runId}: ${JSON.stringify(result).slice(0, 300)}`);
    assert.equal(result.result.heard.filler.length, 300_000);
  });
  const latest = await client.workflow.getHandle(mailboxId).describe();
  assert.notEqual(latest.runId, first, 'the mailbox continued as new');
  assert.ok(['RUNNING', 'COMPLETED'].includes(latest.status.name), `mailbox ${latest.status.name}`);
  const firstRun = await client.workflow.getHandle(mailboxId, first).describe();
  assert.equal(firstRun.status.name, 'CONTINUED_AS_NEW', 'never terminated for its history size');
});

test('a run waiting for a type with a key and with null: the keyed event goes to the keyed node only', async () => {
  const type = unique('both');
  const submitted = await stack.call('POST', '/v1/definitions', {
    id: unique('both-waits'),
    nodes: [
      // The null-key node first: it is the first waiting node the keyed event meets.
      { id: 'all', type: 'event', event_type: type, correlation_key: 'null', output: 'broadcast' },
      { id: 'mine', type: 'event', event_type: type, correlation_key: '"x"', output: 'own' },
    ],
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const runId = await start(submitted.body.id as string);
  await until('both nodes to wait', async () => {
    const nodes = (await state(runId))?.nodes;
    return nodes?.mine?.status === 'waiting' && nodes?.all?.status === 'waiting' ? true : undefined;
  });
  const keyed = await stack.call('POST', '/v1/events', {
    event_type: type,
    correlation_key: 'x',
    payload: { to: 'x' },
  });
  assert.equal(keyed.status, 202, JSON.stringify(keyed.body));
  await until('the keyed node to complete', async () =>
    (await state(runId))?.nodes?.mine?.status === 'completed' ? true : undefined,
  );
  assert.equal((await state(runId)).nodes.all.status, 'waiting', 'the null-key node did not take the keyed event');
  const broadcast = await stack.call('POST', '/v1/events', { event_type: type, payload: { to: 'all' } });
  assert.equal(broadcast.status, 202, JSON.stringify(broadcast.body));
  const result = await outcome(runId);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.deepEqual([result.result.own, result.result.broadcast], [{ to: 'x' }, { to: 'all' }]);
});
