/**
 * Records the first workflow execution of a run that continues as new because it did one
 * segment of counted work (`weft-bounded-segments`, SEGMENT_LIMITS in
 * interpreter/expression-budget.ts): a loop of heavy expressions. `npm run record-histories`
 * runs it after the other record scripts; the suite replays it with the rest. Re-record only on
 * purpose.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-segments] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
const { connectClient, startTestWorker, unique } = await import('../support/temporal.js');
const { executions, startRun } = await import('../support/runs.js');

const taskQueue = unique('record-segments');
const worker = await startTestWorker(taskQueue);
const { client, connection } = await connectClient();
const handle = await startRun(client, taskQueue, {
  id: 'bounded-segments',
  variables: [
    { name: 'i', type: 'number', default: 0 },
    { name: 'sum', type: 'number', default: 0 },
  ],
  nodes: [
    { id: 'begin', type: 'set', assign: { i: '0' } },
    { id: 'work', type: 'set', assign: { i: 'vars.i + 1', sum: 'vars.sum + $reduce([1..600], function($a, $b) { $a + $b })' } },
    { id: 'again', type: 'condition', expression: 'vars.i < 3' },
  ],
  edges: [
    { from: 'begin', to: 'work' },
    { from: 'work', to: 'again' },
    { from: 'again', to: 'work', when: 'nodes.again.output' },
  ],
});
log(`result ${JSON.stringify(await handle.result())}`);
const chain = await executions(client, handle);
if (chain.length < 2) throw new Error(`the run did not continue as new (${chain.length} execution)`);
const history = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
const out = fileURLToPath(new URL('../../../test/histories/bounded-segments-first-run.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({ workflowId: handle.workflowId, events }, null, 1)}\n`);
log(`bounded-segments-first-run: ${events.length} events, ${chain.length} executions`);
await connection.close();
await worker.shutdown();
await server.stop();
