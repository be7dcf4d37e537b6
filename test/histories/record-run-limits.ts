/**
 * Records the histories of run-level flow control (`npm run record-histories` runs it after the
 * others): a run that queued for a run permit (`options.max_concurrent_runs`, keyed, priority 4)
 * while another run of its key held it, then ran and gave the permit back; the run limiter itself
 * (acquire, place in line, grant, release, complete); and a debouncer that took a burst of three
 * starts and started one run. The suite replays them with the rest. Re-record only on purpose.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';
import type { DebounceAnswer, DebouncedStart } from '../../workflows/debounce.js';

const log = (m: string) => process.stderr.write(`[record-run-limits] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { connectClient, startTestWorker } = await import('../support/temporal.js');
const { startHttpTarget, json } = await import('../support/http-target.js');
const { startRun, waitForState, versioned } = await import('../support/runs.js');
const { limiterWorkflowId } = await import('../../activities/limiter.js');
const { RUN_PERMIT } = await import('../../interpreter/run-limits.js');
const { until } = await import('../support/poll.js');

const out = fileURLToPath(new URL('../../../test/histories/', import.meta.url));
mkdirSync(out, { recursive: true });
const held: ServerResponse[] = [];
const target = await startHttpTarget({ '/held': (_req, res) => void held.push(res) });
const taskQueue = 'record-run-limits';

const definition = {
  id: 'one-run-per-order',
  variables: [{ name: 'order_id', type: 'string', default: 'o-1' }],
  nodes: [
    {
      id: 'call',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/held?order={{input.order_id}}` },
      output: 'answer',
    },
  ],
  options: { max_concurrent_runs: 1, concurrency_key: 'input.order_id', priority: 4 },
};
const debounced = versioned({
  id: 'debounced-order',
  variables: [{ name: 'order_id', type: 'string', default: 'o-1' }],
  nodes: [{ id: 'note', type: 'set', assign: { seen: 'input.order_id' } }],
  options: { debounce: '2s' },
});
const worker = await startTestWorker(taskQueue, {
  definitions: { get: (_key: string) => Promise.resolve(debounced) },
});
const { client, connection } = await connectClient();

async function save(name: string, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(`${out}${name}.json`, `${JSON.stringify({ workflowId, events }, null, 1)}\n`);
  log(`${name}: ${events.length} events`);
}
const whenHeld = (n: number, what: string) => until(what, () => Promise.resolve(held.length === n ? true : undefined));

const holder = await startRun(client, taskQueue, definition, { order_id: 'o-1' });
await whenHeld(1, 'the first call');
const waiter = await startRun(client, taskQueue, definition, { order_id: 'o-1' });
await waitForState(waiter, (s) => (s as { queued?: { position?: number } }).queued?.position === 1);
for (const res of held.splice(0)) json(res, 200, { first: true });
await whenHeld(1, 'the second call');
for (const res of held.splice(0)) json(res, 200, { second: true });
await holder.result();
await waiter.result();
await save('run-limits-queued-for-permit', waiter.workflowId);
const limiter = limiterWorkflowId('default', taskQueue, definition.id, RUN_PERMIT, 'o-1');
await client.workflow.getHandle(limiter).result();
await save('run-limits-run-limiter', limiter);

// A burst of three starts, as the gateway sends them (src/gateway/run-debounce.ts).
const debouncerId = '~weft-debounce:record';
let answer: DebounceAnswer | undefined;
for (const order of ['o-1', 'o-2', 'o-3']) {
  const start: DebouncedStart = {
    definition_id: debounced.id,
    definition_version: debounced.version,
    window_ms: 2_000,
    run_prefix: debounced.id,
    args: { input: { order_id: order } },
    memo: { definition_id: debounced.id, definition_version: debounced.version },
    search_attributes: { WeftDefinitionId: debounced.id, WeftDefinitionVersion: debounced.version },
    summary: 'debounced-order v1',
  };
  answer = await client.workflow.executeUpdateWithStart<Workflow, DebounceAnswer, [DebouncedStart]>('debounce', {
    args: [start],
    startWorkflowOperation: new WithStartWorkflowOperation<Workflow>('debouncer', {
      workflowId: debouncerId,
      taskQueue,
      args: [{ definition_id: debounced.id, key: null }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}
await client.workflow.getHandle(debouncerId).result();
await client.workflow.getHandle(answer?.workflow_id ?? '').result();
await save('run-limits-debouncer', debouncerId);

await connection.close();
await worker.shutdown();
await target.close();
await server.stop();
