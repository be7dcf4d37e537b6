/**
 * Records the histories of run surgery (`npm run record-histories` runs it after
 * record-limits.ts): a skip of a running task, whose call is cancelled (behind
 * `patched('weft-skip-running')`), and the run a rerun of a completed run starts from a middle
 * node (`resume.rerun`), and a paused run retried on another version, which continues as new on
 * it. The suite replays them with the rest. Re-record only on purpose.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-surgery] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { startTestStack } = await import('../support/gateway.js');
const { json, startHttpTarget } = await import('../support/http-target.js');
const { until } = await import('../support/poll.js');
const { connectClient } = await import('../support/temporal.js');

const target = await startHttpTarget({
  '/step': (_req, res) => json(res, 200, { ok: true }),
  // Never answers: only the cancelled call ends it.
  '/slow': () => undefined,
});
const stack = await startTestStack();
const { client, connection } = await connectClient();
const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));

async function save(name: string, runId: string): Promise<void> {
  const result = (await stack.call('GET', `/v1/runs/${runId}/result?wait=true`)).body;
  if (result.status !== 'completed') throw new Error(`${name}: ${JSON.stringify(result)}`);
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId: runId, events }, null, 1)}\n`);
  log(`${name}: ${events.length} events`);
}
const task = (id: string, path: string) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  output: id,
  inputs: { url: `${target.url}${path}` },
  retry_policy: { max_attempts: 1 },
});
const started = async (id: string): Promise<string> =>
  (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;

await stack.call('POST', '/v1/definitions', {
  id: 'skip-running',
  nodes: [task('slow', '/slow'), { id: 'after', type: 'set', assign: { done: 'vars.slow.manual' } }],
  edges: [{ from: 'slow', to: 'after' }],
});
const skipRun = await started('skip-running');
await until('the slow node to run', async () =>
  (await stack.call('GET', `/v1/runs/${skipRun}`)).body.nodes?.slow?.status === 'running' ? true : undefined,
);
const skipped = await stack.call('POST', `/v1/runs/${skipRun}/skip`, { node: 'slow', output: { manual: true } });
if (skipped.status !== 202) throw new Error(`skip: ${JSON.stringify(skipped.body)}`);
await save('skip-running', skipRun);

await stack.call('POST', '/v1/definitions', {
  id: 'rerun-from-middle',
  variables: [{ name: 'label', type: 'string', default: 'first' }],
  nodes: [task('a', '/step'), task('b', '/step'), task('c', '/step'), { id: 'd', type: 'set', assign: { out: 'vars.label' } }],
  edges: [
    { from: 'a', to: 'b' },
    { from: 'b', to: 'c' },
    { from: 'c', to: 'd' },
  ],
});
const original = await started('rerun-from-middle');
await stack.call('GET', `/v1/runs/${original}/result?wait=true`);
const rerun = await stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'b', variables: { label: 'second' } });
if (rerun.status !== 202) throw new Error(`rerun: ${JSON.stringify(rerun.body)}`);
await save('rerun-from-middle', rerun.body.run_id as string);

// A run paused at a failed node, retried on a version that fixes it: it continues as new there.
const paused = (expression: string) => ({
  id: 'retry-paused-on-version',
  options: { on_failure: 'pause' },
  variables: [
    { name: 'code', type: 'string', default: 'abcd' },
    { name: 'size', type: 'number' },
  ],
  nodes: [task('a', '/step'), { id: 'calc', type: 'set', assign: { size: expression } }],
  edges: [{ from: 'a', to: 'calc' }],
});
await stack.call('POST', '/v1/definitions', paused('$number(vars.code)'));
const pausedRun = await started('retry-paused-on-version');
await until('the run to pause at calc', async () =>
  (await stack.call('GET', `/v1/runs/${pausedRun}`)).body.status === 'paused' ? true : undefined,
);
await stack.call('POST', '/v1/definitions', paused('$length(vars.code)'));
const moved = await stack.call('POST', `/v1/runs/${pausedRun}/retry`, { version: '2' });
if (moved.status !== 202) throw new Error(`retry on version 2: ${JSON.stringify(moved.body)}`);
await stack.call('GET', `/v1/runs/${pausedRun}/result?wait=true`);
// The first run of the chain: the one that moved (the continued run replays like any resumed run).
const first = await client.workflow.getHandle(pausedRun).describe();
const chain = client.workflow.list({ query: `WorkflowId = ${JSON.stringify(pausedRun)}` });
let firstRunId = first.runId;
for await (const run of chain) if (run.status.name === 'CONTINUED_AS_NEW') firstRunId = run.runId;
const movedHistory = await client.workflow.getHandle(pausedRun, firstRunId).fetchHistory();
const { events: movedEvents } = JSON.parse(historyToJSON(movedHistory)) as { events: unknown[] };
writeFileSync(
  `${out}retry-paused-on-version.json`,
  `${JSON.stringify({ workflowId: pausedRun, events: movedEvents }, null, 1)}\n`,
);
log(`retry-paused-on-version: ${movedEvents.length} events`);

await connection.close();
await stack.close();
await target.close();
await server.stop();
