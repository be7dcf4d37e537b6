/**
 * `npm run record-histories`: runs representative definitions (the examples, one per node type
 * and error-handler action, plus operator actions and a continue-as-new) on a fresh dev server
 * and writes each run's history to test/histories/<name>.json. The suite replays them against
 * the current code. Re-record only on purpose, when old histories no longer matter.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';
import { untilTrue } from '../support/poll.js';

const log = (m: string) => process.stderr.write(`[record] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { startTestStack } = await import('../support/gateway.js');
const { allowEgress } = await import('../support/egress.js');
const { counterLoopDefinition } = await import('../support/definitions.js');
const stack = await startTestStack();
// join-parallel reads the gateway's definitions (as in the examples test); the stack allows /healthz and /readyz.
allowEgress(`${stack.gateway.url}/v1/definitions`);
const { client, connection } = await (await import('../support/temporal.js')).connectClient();

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));
mkdirSync(out, { recursive: true });
const load = (name: string) => JSON.parse(readFileSync(`${examples}${name}.json`, 'utf8')) as Record<string, unknown>;

async function submit(name: string) {
  await stack.call('POST', '/v1/definitions', load(name));
}
async function start(id: string, input: Record<string, unknown> = {}): Promise<string> {
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input });
  if (started.status !== 201) throw new Error(`${id}: ${JSON.stringify(started.body)}`);
  return started.body.run_id as string;
}
async function until(runId: string, predicate: (s: any) => boolean) {
  await untilTrue(
    `${runId} to reach the expected state`,
    async () => predicate((await stack.call('GET', `/v1/runs/${runId}`)).body),
    180_000,
    100,
  );
}
/** Temporal's JSON history, plus the workflow id (replay derives child ids from it). */
function write(name: string, workflowId: string, history: Parameters<typeof historyToJSON>[0]) {
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId, events }, null, 1)}\n`);
}

async function save(name: string, runId: string) {
  await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
  const history = await client.workflow.getHandle(runId).fetchHistory();
  write(name, runId, history);
  log(`${name}: ${history.events?.length ?? 0} events`);
}

const g = { gateway_url: stack.gateway.url };
const { SLICED_DEFINITION } = await import('./sliced-definition.js');
for (const name of ['hello-gateway', 'condition-route', 'join-parallel', 'wait-timer', 'event-payment', 'approval-review']) await submit(name);
for (const name of ['subworkflow-child', 'subworkflow-parent', 'map-each', 'end-early', 'loop-counter']) await submit(name);
for (const name of ['handler-retry', 'handler-compensate', 'handler-terminate', 'handler-continue', 'handler-goto']) await submit(name);

await save('task-and-set', await start('hello-gateway', g));
await save('condition', await start('condition-route', { amount: 5 }));
await save('join-all-any-dead-path', await start('join-parallel', g));
await save('wait-duration', await start('wait-timer'));

const paid = await start('event-payment', { order_id: 'A-1' });
await until(paid, (s) => s.nodes.paid.status === 'waiting');
await stack.call('POST', '/v1/events', { event_type: 'payment.settled', correlation_key: 'B-2', payload: { amount: 1 } });
await stack.call('POST', '/v1/events', { event_type: 'payment.settled', correlation_key: 'A-1', payload: { amount: 42 } });
await save('event-buffered-and-delivered', paid);

const review = await start('approval-review');
await until(review, (s) => s.nodes.review.status === 'waiting');
await stack.call('POST', `/v1/runs/${review}/approvals/review`, { approved: false, comment: 'not yet' });
await save('approval-rejected', review);

await save('subworkflow', await start('subworkflow-parent'));
await save('map-bounded', await start('map-each', g));
await save('end-early', await start('end-early'));
await save('loop', await start('loop-counter'));

const retry = await start('handler-retry', g);
await until(retry, (s) => s.nodes.lookup.status === 'failed');
await submit('handler-retry-target');
await save('handler-retry', retry);
await save('handler-compensate', await start('handler-compensate', g));
await save('handler-terminate', await start('handler-terminate', g));
await save('handler-continue', await start('handler-continue', g));
await save('handler-goto', await start('handler-goto', g));

// Operators: pause, variables, skip, resume on a run waiting for an event.
await stack.call('POST', '/v1/definitions', {
  id: 'operated',
  variables: [{ name: 'limit', type: 'number', default: 1 }],
  nodes: [
    { id: 'gate', type: 'event', event_type: 'go', correlation_key: 'null' },
    { id: 'maybe', type: 'set', assign: { ran: 'true' } },
    { id: 'final', type: 'set', assign: { seen: 'vars.limit' } },
  ],
  edges: [
    { from: 'gate', to: 'maybe' },
    { from: 'maybe', to: 'final' },
  ],
});
const operated = await start('operated');
await until(operated, (s) => s.nodes.gate.status === 'waiting');
await stack.call('POST', `/v1/runs/${operated}/pause`, { reason: 'check' });
await stack.call('PATCH', `/v1/runs/${operated}/variables`, { variables: { limit: 5 } });
await stack.call('POST', `/v1/runs/${operated}/skip`, { node: 'maybe', output: 'skipped' });
await stack.call('POST', '/v1/events', { event_type: 'go', payload: {} });
await stack.call('POST', `/v1/runs/${operated}/resume`, {});
await save('operators-pause-variables-skip-resume', operated);

// A step longer than the engine's work budget (ACTIVATION_LIMITS): it pauses on 1 ms timers.
await stack.call('POST', '/v1/definitions', counterLoopDefinition(40_000));
await save('long-step-paused', await start('loop-40000'));

// Slices (runs since the weft-expression-slices patch): one heavy expression pauses in the middle
// of its evaluation, then a regex on RE2 and $base64encode in the sandbox.
await stack.call('POST', '/v1/definitions', SLICED_DEFINITION);
await save('expression-sliced', await start(SLICED_DEFINITION.id));

// Continue-as-new: a loop of tasks past a small history bound, straight through the client.
const { versioned } = await import('../support/runs.js');
const definition = versioned(counterLoopDefinition(12, { url: `${stack.gateway.url}/healthz` }));
const handle = await client.workflow.start('interpret', {
  taskQueue: stack.config.taskQueue,
  workflowId: `continue-as-new-${Date.now()}`,
  args: [{ definition, input: {}, continue_as_new_after: 30 }],
});
await handle.result();
// The first run of the chain: it ends in continue-as-new.
const first = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
write('continue-as-new-first-run', handle.workflowId, first);
log(`continue-as-new-first-run: ${first.events?.length ?? 0} events`);

await connection.close();
await stack.close();
await server.stop();
