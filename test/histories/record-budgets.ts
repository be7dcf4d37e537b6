/**
 * Records the history of a run with an AI budget (`npm run record-histories` runs it after
 * record-events.ts) against a local OpenAI-compatible server: a map of AI calls held back by the
 * budget (weft-budget-every-call), resumed with a higher one, then a child run that starts with
 * what is left of it and reports its cost (weft-child-cost); every AI call says the run is
 * budgeted (weft-ai-budgeted). Then two children started at once: the second is handed what the
 * first was not (weft-child-budget-reserve), pauses for it and is resumed. The suite replays them
 * with the rest. Re-record only on purpose.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';
import { until } from '../support/poll.js';

const log = (m: string) => process.stderr.write(`[record-budgets] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { connectClient, startTestWorker, unique } = await import('../support/temporal.js');
const { startRun, versioned, waitForState } = await import('../support/runs.js');
const { startFakeOpenAi } = await import('../support/fake-openai.js');
const { aiMapDefinition } = await import('../support/definitions.js');
const { SqliteDefinitionStore } = await import('../../src/store/sqlite-store.js');

const dir = mkdtempSync(join(tmpdir(), 'weft-record-budgets-'));
const store = new SqliteDefinitionStore(join(dir, 'defs.db'));
const fake = await startFakeOpenAi();
const taskQueue = unique('record-budgets');
const worker = await startTestWorker(taskQueue, {
  definitions: store,
  activityDeps: { ai: { baseURL: fake.url, apiKey: fake.apiKey, models: {} } },
});
const { client, connection } = await connectClient();
// gpt-4o-mini from the default price table: 10,000 input tokens are 0.0015 USD.
fake.enqueue(
  ...Array.from({ length: 4 }, () => (request: { body: any }) => ({
    content: String(request.body.messages.at(-1).content),
    usage: { prompt_tokens: 10_000, completion_tokens: 0 },
  })),
);

await store.submit(
  versioned({ id: 'budget-child', nodes: [{ id: 'c1', type: 'ai', model: 'gpt-4o-mini', prompt_template: 'hi' }] }),
  'record',
);
const map = aiMapDefinition('gpt-4o-mini', 0.002, ['a', 'b', 'c'], 1);
const handle = await startRun(client, taskQueue, {
  ...map,
  id: 'budget-map-child',
  nodes: [...map.nodes, { id: 'kid', type: 'subworkflow', definition: 'budget-child', inputs: {} }],
  edges: [{ from: 'each', to: 'kid' }],
});
await waitForState(handle, (s) => s.status === 'paused');
await handle.executeUpdate('control', { args: [{ type: 'resume', by: 'record', max_cost_usd: 1 }] });
await handle.result();
const { events } = JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: unknown[] };
const out = fileURLToPath(new URL('../../../test/histories/ai-budget-map-child.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({ workflowId: handle.workflowId, events }, null, 1)}\n`);
log(`ai-budget-map-child: ${events.length} events`);

// Two children at once under room for one call: one is handed the remainder, the other nothing.
fake.enqueue(
  ...Array.from({ length: 2 }, () => (request: { body: any }) => ({
    content: String(request.body.messages.at(-1).content),
    usage: { prompt_tokens: 10_000, completion_tokens: 0 },
  })),
);
const siblings = await startRun(client, taskQueue, {
  id: 'budget-parallel-children',
  options: { max_cost_usd: 0.002 },
  nodes: [
    { id: 'k1', type: 'subworkflow', definition: 'budget-child', inputs: {} },
    { id: 'k2', type: 'subworkflow', definition: 'budget-child', inputs: {} },
  ],
});
const held = await until(
  'a child to pause for its budget',
  async () => {
    let paused: string | undefined;
    for (const node of ['k1', 'k2']) {
      for (const n of [1, 2, 3, 4]) {
        const id = `${siblings.workflowId}.${node}-${n}`;
        const state = await client.workflow
          .getHandle(id)
          .query<{ status: string }>('state')
          .catch(() => undefined);
        if (state?.status === 'paused') paused = id;
      }
    }
    return paused;
  },
  180_000,
  100,
);
await client.workflow
  .getHandle(held)
  .executeUpdate('control', { args: [{ type: 'resume', by: 'record', max_cost_usd: 1 }] });
await siblings.result();
const parallel = JSON.parse(historyToJSON(await siblings.fetchHistory())) as { events: unknown[] };
const parallelOut = fileURLToPath(new URL('../../../test/histories/ai-budget-parallel-children.json', import.meta.url));
writeFileSync(parallelOut, `${JSON.stringify({ workflowId: siblings.workflowId, events: parallel.events }, null, 1)}
`);
log(`ai-budget-parallel-children: ${parallel.events.length} events`);

await worker.shutdown();
await connection.close();
await fake.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
await server.stop();
