/**
 * `npm run bench:events`: event delivery through mailboxes at scale. BENCH_PARKED runs (default
 * 1,000) of one definition park on `event` nodes with their own keys; then BENCH_EVENTS events
 * (default 200) for distinct parked runs are posted 8 at a time. Prints the accepting rate
 * (202s per second while posting, measured apart from delivery), the delivered rate (first POST
 * to last run completed), the delivery latency (POST sent → the run completed) p50/p99, and
 * checks that each event touched one run: its mailbox's `sent_to` is exactly its run, and no
 * 202's `delivered_to` names another (it may be [] when the gateway's 2 s question to the
 * mailbox went unanswered: counted), else it fails; exactly BENCH_EVENTS runs completed, each with its own payload, and the rest still
 * wait. A Markdown table for BENCHMARKS.md.
 */
import { cpus, totalmem } from 'node:os';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';
import { untilTrue } from '../support/poll.js';

const PARKED = Number(process.env.BENCH_PARKED ?? 1_000);
const EVENTS = Math.min(PARKED, Number(process.env.BENCH_EVENTS ?? 200));
const AT_ONCE = 8;
const log = (m: string) => process.stderr.write(`[bench:events] ${m}\n`);

const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { startTestStack } = await import('../support/gateway.js');
const { connectClient, unique } = await import('../support/temporal.js');
const { inBatches } = await import('../support/events.js');
const { mailboxWorkflowId } = await import('../../activities/event-mailbox.js');
const stack = await startTestStack();

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

const id = unique('bench-parked');
const type = unique('bench.paid');
await stack.call('POST', '/v1/definitions', {
  id,
  variables: [{ name: 'order', type: 'string', required: true }],
  nodes: [{ id: 'paid', type: 'event', event_type: type, correlation_key: 'vars.order', output: 'payment' }],
});
const orders = Array.from({ length: PARKED }, (_, i) => `o-${i}`);
const t0 = performance.now();
const runIds = await inBatches(orders, AT_ONCE, async (order) => {
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { order } });
  if (started.status !== 201) throw new Error(JSON.stringify(started.body));
  return started.body.run_id as string;
});
await inBatches(runIds, AT_ONCE, async (runId) => {
  await untilTrue(
    `run ${runId} to park`,
    async () => (await stack.call('GET', `/v1/runs/${runId}`)).body?.nodes?.paid?.status === 'waiting',
    600_000,
  );
});
log(`${PARKED} runs parked in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Every (PARKED / EVENTS)-th run gets its event. All are posted 8 at a time first (the accepting
// rate), each answer's delivered_to checked to be exactly its run; completions are waited for
// alongside (the delivery latency, POST sent -> the run completed) and after.
const chosen = Array.from({ length: EVENTS }, (_, i) => Math.floor((i * PARKED) / EVENTS));
const latencies: number[] = [];
const accepting: number[] = [];
const misdelivered: string[] = [];
let answeredExactly = 0;
const completions: Promise<void>[] = [];
const t1 = performance.now();
await inBatches(chosen, AT_ONCE, async (i) => {
  const sent = performance.now();
  const response = await stack.call('POST', '/v1/events', {
    event_type: type,
    correlation_key: orders[i],
    payload: { order: orders[i] },
    event_id: `bench-${orders[i]}`,
  });
  accepting.push(performance.now() - sent);
  if (response.status !== 202) throw new Error(`${response.status} ${JSON.stringify(response.body)}`);
  // delivered_to is best effort (the gateway asks the mailbox for up to 2 s): [] is "not known
  // yet", anything but its own run is a misdelivery. The mailbox is asked again below, unbounded.
  const to = response.body.delivered_to as string[];
  if (to.length === 1 && to[0] === runIds[i]) answeredExactly++;
  else if (to.length > 0) misdelivered.push(`${orders[i]} -> ${JSON.stringify(to)} in the 202`);
  completions.push(
    (async () => {
      let result = await stack.call('GET', `/v1/runs/${runIds[i]}/result?wait=true`);
      while (result.body?.status === 'running')
        result = await stack.call('GET', `/v1/runs/${runIds[i]}/result?wait=true`);
      if (result.body.status !== 'completed' || result.body.result.payment.order !== orders[i])
        throw new Error(`${runIds[i]}: ${JSON.stringify(result.body)}`);
      latencies.push(performance.now() - sent);
    })(),
  );
});
const acceptSeconds = (performance.now() - t1) / 1000;
await Promise.all(completions);
const seconds = (performance.now() - t1) / 1000;
// Each event's mailbox says it sent the event to exactly its run, and to no other.
const { client, connection } = await connectClient();
await inBatches(chosen, AT_ONCE, async (i) => {
  const mailbox = client.workflow.getHandle(
    mailboxWorkflowId('default', stack.config.taskQueue, type, orders[i] ?? ''),
  );
  const sent = await mailbox.query<string[], [string]>('sent_to', `bench-${orders[i]}`);
  if (sent.length !== 1 || sent[0] !== runIds[i])
    misdelivered.push(`${orders[i]} -> ${JSON.stringify(sent)} in its mailbox`);
});
await connection.close();
if (misdelivered.length > 0)
  throw new Error(
    `${misdelivered.length} events' delivered_to was not exactly their run: ${misdelivered.slice(0, 5).join('; ')}`,
  );

// One event touches one run: the runs not chosen still wait.
const others = runIds.filter((_, i) => !chosen.includes(i));
const sample = others.filter((_, i) => i % Math.max(1, Math.floor(others.length / 50)) === 0);
const stillWaiting = (
  await inBatches(sample, AT_ONCE, async (runId) => (await stack.call('GET', `/v1/runs/${runId}`)).body.status)
).filter((s) => s === 'running').length;

latencies.sort((a, b) => a - b);
accepting.sort((a, b) => a - b);
const ms = (v: number) => `${Math.round(v)} ms`;
process.stdout.write(
  [
    `| parked runs | events | accepted events/s (8 POSTs at a time) | delivered events/s (first POST to last run completed) | accept p50 / p99 | delivery p50 / p99 | sent to exactly its run (mailbox; in the 202's delivered_to) | other runs still waiting (sample) |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    `| ${PARKED} | ${EVENTS} | ${(EVENTS / acceptSeconds).toFixed(1)} | ${(EVENTS / seconds).toFixed(1)} | ${ms(percentile(accepting, 50))} / ${ms(percentile(accepting, 99))} | ${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))} | ${EVENTS} of ${EVENTS} (${answeredExactly} of ${EVENTS}) | ${stillWaiting} of ${sample.length} |`,
    '',
    `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; gateway and worker in one process.`,
    '',
  ].join('\n'),
);
await stack.close();
await server.stop();
