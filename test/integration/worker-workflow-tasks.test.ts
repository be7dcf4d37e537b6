/**
 * How many workflow tasks a worker works on at once (`WEFT_WORKER_WORKFLOW_TASKS`). Activations
 * share the worker's one workflow thread and interleave, so the SDK's default of 40 let sliced
 * evaluations on a loaded host run past the server's 10 s task timeout, all of them at once; the
 * worker takes 4 unless told otherwise, and the setting is checked like every other.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_WORKFLOW_TASKS, startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { startRun } from '../support/runs.js';
import { connectClient, NAMESPACE, temporalAddress, unique } from '../support/temporal.js';

/** The slots the SDK compiled from the worker's options. */
function workflowSlots(worker: RunningWorker): unknown {
  const tuner = (worker.worker.options as { tuner?: { workflowTaskSlotSupplier?: { numSlots?: number } } }).tuner;
  return tuner?.workflowTaskSlotSupplier?.numSlots;
}

let client: Client;
let connection: Connection;
const workers: RunningWorker[] = [];

before(async () => {
  ({ client, connection } = await connectClient());
});
after(async () => {
  for (const worker of workers) await worker.shutdown();
  await connection?.close();
});

test('WEFT_WORKER_WORKFLOW_TASKS is a whole number from 2 to 200; unset, the worker takes its default', () => {
  assert.equal(loadConfig({}).workerWorkflowTasks, undefined);
  assert.equal(loadConfig({ WEFT_WORKER_WORKFLOW_TASKS: '8' }).workerWorkflowTasks, 8);
  assert.throws(
    () => loadConfig({ WEFT_WORKER_WORKFLOW_TASKS: 'many' }),
    /WEFT_WORKER_WORKFLOW_TASKS: expected a whole/,
  );
  assert.throws(
    () => loadConfig({ WEFT_WORKER_WORKFLOW_TASKS: '2.5' }),
    /WEFT_WORKER_WORKFLOW_TASKS: expected a whole/,
  );
  assert.throws(
    () => loadConfig({ WEFT_WORKER_WORKFLOW_TASKS: '1' }),
    /WEFT_WORKER_WORKFLOW_TASKS: expected at least 2/,
  );
  assert.throws(
    () => loadConfig({ WEFT_WORKER_WORKFLOW_TASKS: '500' }),
    /WEFT_WORKER_WORKFLOW_TASKS: expected at most 200/,
  );
});

test('a worker works on 4 workflow tasks at once by default, or as many as it is given, and runs complete', async () => {
  assert.equal(DEFAULT_WORKFLOW_TASKS, 4);
  const defaultQueue = unique('wft-default');
  const givenQueue = unique('wft-given');
  const byDefault = await startWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue: defaultQueue });
  workers.push(byDefault);
  const given = await startWorker({
    address: temporalAddress(),
    namespace: NAMESPACE,
    taskQueue: givenQueue,
    workflowTasks: 6,
  });
  workers.push(given);
  assert.equal(workflowSlots(byDefault), 4);
  assert.equal(workflowSlots(given), 6);

  // More sliced runs than slots, at once: every one completes (tasks beyond the slots wait on the server).
  const definition = {
    id: 'wft-sliced',
    nodes: [{ id: 'sum', type: 'set', assign: { x: '$reduce([1..1600], function($a, $b) { $a + $b })' } }],
  };
  const handles = await Promise.all(
    Array.from({ length: 8 }, (_, i) => startRun(client, i % 2 === 0 ? defaultQueue : givenQueue, definition)),
  );
  const results = await Promise.all(handles.map((handle) => handle.result()));
  for (const result of results) assert.deepEqual(result, { x: 1280800 });
});
