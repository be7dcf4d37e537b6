/**
 * Records the histories of event delivery through mailboxes (`npm run record-histories` runs it
 * after record.ts): a run that registers with its mailbox and takes its event, a run whose
 * event was posted before it waited, the mailbox workflow itself, and a keyless mailbox bounded
 * in what it sends (MAILBOX_BOUND_PATCH), and a run whose null-key wait ignores a keyed event
 * (KEYLESS_ONLY_PATCH). The suite replays them
 * with the rest. Re-record only on purpose.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';
import { pause, untilTrue } from '../support/poll.js';

const log = (m: string) => process.stderr.write(`[record-events] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { startTestStack } = await import('../support/gateway.js');
const stack = await startTestStack();
const { client, connection } = await (await import('../support/temporal.js')).connectClient();
const { mailboxWorkflowId } = await import('../../activities/event-mailbox.js');

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));
mkdirSync(out, { recursive: true });
await stack.call('POST', '/v1/definitions', JSON.parse(readFileSync(`${examples}event-payment.json`, 'utf8')));

async function start(order: string): Promise<string> {
  const started = await stack.call('POST', '/v1/definitions/event-payment/runs', { input: { order_id: order } });
  if (started.status !== 201) throw new Error(JSON.stringify(started.body));
  return started.body.run_id as string;
}
async function waiting(runId: string) {
  await untilTrue(
    `${runId} to wait`,
    async () => (await stack.call('GET', `/v1/runs/${runId}`)).body.nodes?.paid?.status === 'waiting',
    180_000,
    100,
  );
}
async function save(name: string, workflowId: string, closed = true) {
  if (closed) await stack.call('GET', `/v1/runs/${workflowId}/result?wait=true`);
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId, events }, null, 1)}\n`);
  log(`${name}: ${events.length} events`);
}
const post = (key: string, amount: number) =>
  stack.call('POST', '/v1/events', {
    event_type: 'payment.settled',
    correlation_key: key,
    payload: { amount },
    event_id: `rec-${key}-${amount}`,
  });

// Waiting first: the run registers, the event comes through the mailbox.
const waited = await start('M-1');
await waiting(waited);
await post('M-2', 1);
await post('M-1', 42);
await save('event-mailbox-delivered', waited);

// Event first: the mailbox keeps it and sends it when the run registers.
await post('M-3', 7);
await save('event-mailbox-early', await start('M-3'));

// The mailbox of M-1: publish, register, send, unregister (still running: it keeps the event).
await post('M-1', 43);
await pause(3_000, 'the mailbox workflow to finish its turn before its history is saved');
await save('event-mailbox-workflow', mailboxWorkflowId('default', stack.config.taskQueue, 'payment.settled', 'M-1'), false);

// A keyless (broadcast) mailbox under MAILBOX_BOUND_PATCH: an event kept before anyone waits,
// two runs registering (sent it from what is kept, counted in UTF-8 with their ids), unregistering.
await stack.call('POST', '/v1/definitions', {
  id: 'notice-listen',
  nodes: [{ id: 'hear', type: 'event', event_type: 'notice.posted', correlation_key: 'null', output: 'heard' }],
});
await stack.call('POST', '/v1/events', { event_type: 'notice.posted', payload: { text: 'héllo' }, event_id: 'rec-notice-1' });
for (const n of [1, 2]) {
  const started = await stack.call('POST', '/v1/definitions/notice-listen/runs', { input: {} });
  await stack.call('GET', `/v1/runs/${started.body.run_id as string}/result?wait=true`);
  log(`notice listener ${n} done`);
}
await pause(3_000, 'the mailbox workflow to finish its turn before its history is saved');
await save('event-mailbox-broadcast-bounded', mailboxWorkflowId('default', stack.config.taskQueue, 'notice.posted', null), false);

// A run waiting for one type with a key and with null: the keyed event is not taken by the
// null-key node (KEYLESS_ONLY_PATCH, written when it is refused), the keyless one is.
await stack.call('POST', '/v1/definitions', {
  id: 'both-waits',
  nodes: [
    // The null-key node first: it is the first waiting node the keyed event meets.
    { id: 'all', type: 'event', event_type: 'notice.both', correlation_key: 'null', output: 'broadcast' },
    { id: 'mine', type: 'event', event_type: 'notice.both', correlation_key: '"x"', output: 'own' },
  ],
});
const both = (await stack.call('POST', '/v1/definitions/both-waits/runs', { input: {} })).body.run_id as string;
await untilTrue(
  'both event nodes to wait',
  async () => {
    const nodes = (await stack.call('GET', `/v1/runs/${both}`)).body.nodes;
    return nodes?.mine?.status === 'waiting' && nodes?.all?.status === 'waiting';
  },
  180_000,
  100,
);
await stack.call('POST', '/v1/events', { event_type: 'notice.both', correlation_key: 'x', payload: { to: 'x' }, event_id: 'rec-both-x' });
await untilTrue(
  'the keyed node to complete',
  async () => (await stack.call('GET', `/v1/runs/${both}`)).body.nodes?.mine?.status === 'completed',
  180_000,
  100,
);
await stack.call('POST', '/v1/events', { event_type: 'notice.both', payload: { to: 'all' }, event_id: 'rec-both-all' });
await save('event-keyless-wait-only', both);

await connection.close();
await stack.close();
await server.stop();
