/**
 * Records the histories of `resource_limits.rate_per_second` and run priorities in a limiter's
 * line (`npm run record-histories` runs it last): three runs of a definition whose task is
 * limited to one start per second (and one at a time), the third of a newer priority-5 version;
 * the limiter's history (token bucket timers, a priority-5 request put ahead of a priority-3 one,
 * the wait for a full bucket before completing) and the priority-5 run's. The suite replays them
 * with the rest. Re-record only on purpose.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-rate-limits] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { connectClient, startTestWorker } = await import('../support/temporal.js');
const { startHttpTarget, json } = await import('../support/http-target.js');
const { startRun, waitForState } = await import('../support/runs.js');
const { limiterWorkflowId } = await import('../../activities/limiter.js');
const { until } = await import('../support/poll.js');

const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));
mkdirSync(out, { recursive: true });
const held: { res: ServerResponse; tag: string }[] = [];
const target = await startHttpTarget({ '/rated': (req, res) => void held.push({ res, tag: req.query.tag ?? '' }) });
const taskQueue = 'record-rate-limits';
const worker = await startTestWorker(taskQueue);
const { client, connection } = await connectClient();

const definition = (priority: number, tag: string) => ({
  id: 'rated-call',
  options: { priority },
  variables: [{ name: 'tag', type: 'string', default: tag }],
  nodes: [
    {
      id: 'call',
      type: 'task',
      connector: 'http',
      action: 'request',
      resource_limits: { max_concurrency: 1, rate_per_second: 1, burst: 1 },
      inputs: { url: `${target.url}/rated`, query: { tag: '{{ vars.tag }}' } },
      output: 'answer',
    },
  ],
  edges: [],
});
async function save(name: string, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId, events }, null, 1)}\n`);
  log(`${name}: ${events.length} events`);
}
const answer = async (tag: string) => {
  const call = await until(`the ${tag} call`, () => Promise.resolve(held.find((h) => h.tag === tag)));
  json(call.res, 200, { tag });
};

const holder = await startRun(client, taskQueue, definition(3, 'holder'));
await until('the first call', () => Promise.resolve(held[0]));
const normal = await startRun(client, taskQueue, definition(3, 'normal'));
await waitForState(normal, (s) => s.nodes.call?.permit?.position === 1);
const urgent = await startRun(client, taskQueue, definition(5, 'urgent'));
await waitForState(urgent, (s) => s.nodes.call?.permit?.position === 1);
await answer('holder');
await answer('urgent');
await answer('normal');
for (const run of [holder, normal, urgent]) await run.result();
await save('limits-rate-priority-run', urgent.workflowId);
const limiter = limiterWorkflowId('default', taskQueue, 'rated-call', 'call', null);
await client.workflow.getHandle(limiter).result();
await save('limits-rate-priority-limiter', limiter);

await connection.close();
await worker.shutdown();
await target.close();
await server.stop();
