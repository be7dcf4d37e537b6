/**
 * Records the two flow fixes the graph fuzzer led to (README "Graph fuzzing"): a loop on a branch
 * not taken that dies as a whole (its history holds the `weft-dead-loops` patch marker), and an
 * `end` node that closes the run while a timer of another branch is still waiting (the run state
 * says `cancelled` for it; the commands are the ones older code issued). `npm run
 * record-histories` runs it after the other record scripts; the suite replays the files with the
 * rest. Re-record only on purpose.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-flow] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
const { connectClient, startTestWorker, unique } = await import('../support/temporal.js');
const { startRun } = await import('../support/runs.js');
const { loopOnBranchDefinition } = await import('../support/definitions.js');

const taskQueue = unique('record-flow');
const worker = await startTestWorker(taskQueue);
const { client, connection } = await connectClient();

const runs: Array<{ file: string; definition: unknown; marker?: string }> = [
  {
    file: 'flow-dead-loop',
    marker: 'weft-dead-loops',
    definition: loopOnBranchDefinition('flow-dead-loop', false),
  },
  {
    file: 'flow-end-cuts-wait',
    definition: {
      id: 'flow-end-cuts-wait',
      nodes: [
        { id: 'slow', type: 'wait', duration: '1h' },
        { id: 'quick', type: 'set', assign: { quick: 'true' } },
        { id: 'stop', type: 'end' },
      ],
      edges: [{ from: 'quick', to: 'stop' }],
    },
  },
];

for (const { file, definition, marker } of runs) {
  const handle = await startRun(client, taskQueue, definition);
  log(`${file}: result ${JSON.stringify(await handle.result())}`);
  const { events } = JSON.parse(historyToJSON(await handle.fetchHistory())) as {
    events: Array<{ markerRecordedEventAttributes?: unknown }>;
  };
  // A patch marker's details hold its id in base64-encoded payloads.
  const patches = events.flatMap((e) =>
    [...JSON.stringify(e.markerRecordedEventAttributes ?? {}).matchAll(/"data":"([^"]*)"/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'base64').toString(),
    ),
  );
  if (marker && !patches.some((p) => p.includes(marker))) throw new Error(`${file}: no ${marker} marker in its history`);
  const out = fileURLToPath(new URL(`../../../test/histories/${file}.json`, import.meta.url));
  writeFileSync(out, `${JSON.stringify({ workflowId: handle.workflowId, events }, null, 1)}\n`);
  log(`${file}: ${events.length} events`);
}
await connection.close();
await worker.shutdown();
await server.stop();
