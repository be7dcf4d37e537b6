/**
 * Records the histories of `resource_limits.max_concurrency` (`npm run record-histories` runs it
 * after the others): a run that waited in line for a permit of its node's limiter while another
 * run held it, then ran its call and gave the permit back; and the limiter workflow itself
 * (acquire, grant, place in line, release, complete). The suite replays them with the rest.
 * Re-record only on purpose.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';
import { untilTrue } from '../support/poll.js';

const log = (m: string) => process.stderr.write(`[record-limits] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { connectClient, startTestWorker } = await import('../support/temporal.js');
const { startHttpTarget, json } = await import('../support/http-target.js');
const { startRun, waitForState } = await import('../support/runs.js');
const { limiterWorkflowId } = await import('../../activities/limiter.js');

const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));
mkdirSync(out, { recursive: true });
const held: ServerResponse[] = [];
const target = await startHttpTarget({ '/limited': (_req, res) => void held.push(res) });
const taskQueue = 'record-limits';
const worker = await startTestWorker(taskQueue);
const { client, connection } = await connectClient();

const definition = {
  id: 'limited-call',
  variables: [{ name: 'customer', type: 'string', default: 'c-1' }],
  nodes: [
    {
      id: 'call',
      type: 'task',
      connector: 'http',
      action: 'request',
      resource_limits: { max_concurrency: 1, concurrency_key: 'vars.customer' },
      inputs: { url: `${target.url}/limited` },
      output: 'answer',
    },
    { id: 'after', type: 'set', assign: { done: 'true' } },
  ],
  edges: [{ from: 'call', to: 'after' }],
};

async function save(name: string, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId, events }, null, 1)}\n`);
  log(`${name}: ${events.length} events`);
}

const holder = await startRun(client, taskQueue, definition);
await untilTrue('the first call', () => held.length === 1, 180_000, 100);
const waiter = await startRun(client, taskQueue, definition);
await waitForState(waiter, (s) => s.nodes.call?.permit?.position === 1);
for (const res of held.splice(0)) json(res, 200, { first: true });
await untilTrue('the second call', () => held.length === 1, 180_000, 100);
for (const res of held.splice(0)) json(res, 200, { second: true });
await holder.result();
await waiter.result();
await save('limits-waited-for-permit', waiter.workflowId);
const limiter = limiterWorkflowId('default', taskQueue, 'limited-call', 'call', 'c-1');
await client.workflow.getHandle(limiter).result();
await save('limits-limiter-workflow', limiter);

// The cost of a permit, measured (README "Flow control"): sequential runs without contention,
// limited and unlimited, and the history events of each.
const answering = await startHttpTarget({ '/free': (_req, res) => json(res, 200, {}) });
const measure = async (limited: boolean) => {
  const node = { ...definition.nodes[0], inputs: { url: `${answering.url}/free` } } as Record<string, unknown>;
  if (!limited) delete node.resource_limits;
  const raw = { ...definition, id: limited ? 'measure-limited' : 'measure-free', nodes: [node, definition.nodes[1]] };
  const times: number[] = [];
  let events = 0;
  for (let i = 0; i < 6; i++) {
    const began = Date.now();
    const run = await startRun(client, taskQueue, raw);
    await run.result();
    if (i > 0) times.push(Date.now() - began);
    events = (await run.fetchHistory()).events?.length ?? 0;
  }
  times.sort((a, b) => a - b);
  return { median_ms: times[Math.floor(times.length / 2)], events };
};
log(`unlimited run: ${JSON.stringify(await measure(false))}`);
log(`limited run: ${JSON.stringify(await measure(true))}`);
await answering.close();

await connection.close();
await worker.shutdown();
await target.close();
await server.stop();
