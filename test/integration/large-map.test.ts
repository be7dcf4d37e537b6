/**
 * Issue 11, point 3: a 1,000-item `map` with a template per item must not crash the worker. The
 * templates are rendered by the engine inside the workflow sandbox (one per item), each doing real
 * but bounded work (functions, arithmetic, a condition, a padded string): about 200 slices in all,
 * each ended by a durable timer. One CPU-burning sibling process keeps a core busy beside this
 * file (and whatever other file the suite runs at the same time), so workflow tasks run on a
 * loaded machine. Not more: with this file and the hostile suite both burning two each, workflow
 * tasks starved past Temporal's 10 s timeout in CI.
 * The run completes with every item's answer in item order, no workflow task of any run in its
 * chain failed (which is what a task past the sandbox's limit, or a crashed worker, leaves in the
 * history), and the same worker then completes an ordinary run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { startBurners } from '../support/burners.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

const ITEMS = 1_000;

let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
let burners: { stop(): void } | undefined;
const taskQueue = unique('large-map');

before(async () => {
  target = await startHttpTarget({ '/echo': (req, res) => json(res, 200, { q: req.query }) });
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
  burners = startBurners(1);
});

after(async () => {
  burners?.stop();
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
});

test(`a ${ITEMS}-item map with a template per item completes on a loaded machine`, { timeout: 1_500_000 }, async () => {
  const handle = await startRun(client, taskQueue, {
    id: 'large-map',
    variables: [{ name: 'results', type: 'array' }],
    nodes: [
      {
        id: 'each',
        type: 'map',
        items: `[1..${ITEMS}]`,
        max_concurrency: 50,
        output: 'results',
        task: {
          connector: 'http',
          action: 'request',
          retry_policy: { max_attempts: 3 },
          inputs: {
            url: `${target.url}/echo`,
            // Per item: a template on the slow path (functions, arithmetic, a condition, a padded
            // string of up to 49 characters), rendered by the engine.
            query: {
              v: "{{ $join([$string(item), $string(index), $uppercase('x'), item % 2 = 0 ? 'even' : 'odd', $string($length($pad('', item % 50, '#')))], '-') }}",
            },
          },
        },
      },
      { id: 'pick', type: 'set', assign: { values: 'vars.results.body.q.v' } },
    ],
    edges: [{ from: 'each', to: 'pick' }],
  });
  const result = (await handle.result()) as { values: string[] };
  assert.equal(result.values.length, ITEMS);
  result.values.forEach((v, i) =>
    assert.equal(v, `${i + 1}-${i}-X-${(i + 1) % 2 === 0 ? 'even' : 'odd'}-${(i + 1) % 50}`, `item ${i}`),
  );
  assert.ok(target.requests.length >= ITEMS, `the target saw ${target.requests.length} requests`);

  // Every run of the chain (the map continues as new past the history limit): no failed task.
  let failedTasks = 0;
  let runs = 0;
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
    runs += 1;
    const history = await client.workflow.getHandle(handle.workflowId, execution.runId).fetchHistory();
    failedTasks += (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
  }
  assert.ok(runs >= 1);
  assert.equal(failedTasks, 0, `${failedTasks} workflow tasks failed across ${runs} runs`);

  // The worker survived: an ordinary run completes on it.
  const quick = await startRun(client, taskQueue, {
    id: 'after-map',
    nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
  });
  assert.deepEqual(await quick.result(), { x: 1 });
});
