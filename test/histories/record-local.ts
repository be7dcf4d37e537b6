/**
 * Records runs whose calls are local activities (`execution: "local"`, README "Local execution"):
 * a sequence of local steps, a local step that fails with a 500 and succeeds on its retry, and a
 * local step followed by a step that runs as an activity. Their histories hold MarkerRecorded
 * events instead of activity events. `npm run record-histories` runs it after the other record
 * scripts; the suite replays the files with the rest. Re-record only on purpose.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-local] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
const { connectClient, startTestWorker, unique } = await import('../support/temporal.js');
const { startRun } = await import('../support/runs.js');
const { json, queryStep, startHttpTarget } = await import('../support/http-target.js');

const target = await startHttpTarget({
  '/step': (req, res) => json(res, 200, { step: req.query.n }),
  '/flaky': (_req, res, nth) => (nth === 1 ? json(res, 500, { error: 'first call fails' }) : json(res, 200, { nth })),
});
const taskQueue = unique('record-local');
const worker = await startTestWorker(taskQueue);
const { client, connection } = await connectClient();

const step = (id: string, extra: Record<string, unknown> = {}) => queryStep(target.url, id, extra);

const runs: Array<{ file: string; definition: unknown }> = [
  {
    file: 'local-sequence',
    definition: {
      id: 'local-sequence',
      options: { execution: 'local' },
      nodes: [step('a'), step('b'), step('c'), { id: 'done', type: 'set', assign: { ok: 'nodes.c.output.body.step' } }],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'done' },
      ],
    },
  },
  {
    file: 'local-retry',
    definition: {
      id: 'local-retry',
      nodes: [
        step('flaky', {
          execution: 'local',
          inputs: { url: `${target.url}/flaky` },
          retry_policy: { initial_interval: '100ms', max_attempts: 3 },
        }),
      ],
    },
  },
  {
    file: 'local-mixed',
    definition: {
      id: 'local-mixed',
      nodes: [step('quick', { execution: 'local' }), step('remote')],
      edges: [{ from: 'quick', to: 'remote' }],
    },
  },
];

for (const { file, definition } of runs) {
  const handle = await startRun(client, taskQueue, definition);
  log(`${file}: result ${JSON.stringify(await handle.result())}`);
  const history = await handle.fetchHistory();
  const { events } = JSON.parse(historyToJSON(history)) as {
    events: Array<{ markerRecordedEventAttributes?: { markerName?: string } }>;
  };
  // Local activities' markers (`patched()` writes `core_patch` markers of its own).
  const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
  if (markers === 0) throw new Error(`${file}: no MarkerRecorded event, the calls did not run local`);
  const out = fileURLToPath(new URL(`../../../test/histories/${file}.json`, import.meta.url));
  writeFileSync(out, `${JSON.stringify({ workflowId: handle.workflowId, events }, null, 1)}\n`);
  log(`${file}: ${events.length} events, ${markers} markers`);
}
await connection.close();
await worker.shutdown();
await target.close();
await server.stop();
