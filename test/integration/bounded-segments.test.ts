/**
 * Issue 11, point 3, by construction: a worker that lost a run from its cache replays every
 * activation since the run's last continue-as-new in one workflow task, against Temporal's 10 s
 * task timeout. Runs since `weft-bounded-segments` continue as new once one workflow execution
 * has done SEGMENT_LIMITS.units of counted work, so that replay is bounded too.
 *
 * The worker here keeps no run in its cache, so EVERY workflow task replays the whole execution
 * so far: any nondeterminism in where the engine hands back shows up as a failed task. The run is
 * a loop of heavy expressions (about 90,000 work units an iteration, nine slices each); the test
 * checks the result, that the chain continued as new (an unbounded run is one execution), and
 * that no execution did more slices than one segment and one node allow.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { SEGMENT_LIMITS, SLICE_LIMITS } from '../../interpreter/expression-budget.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { executions, startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('bounded-segments');

before(async () => {
  worker = await startTestWorker(taskQueue, { cachedWorkflows: 0 });
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
});

test(
  'a run past one segment of work continues as new, each execution bounded, on a cacheless worker',
  { timeout: 900_000 },
  async () => {
    const iterations = 5;
    const handle = await startRun(client, taskQueue, {
      id: 'bounded-segments',
      variables: [
        { name: 'i', type: 'number', default: 0 },
        { name: 'sum', type: 'number', default: 0 },
      ],
      options: { max_node_visits: iterations + 10 },
      nodes: [
        { id: 'begin', type: 'set', assign: { i: '0' } },
        {
          id: 'work',
          type: 'set',
          assign: { i: 'vars.i + 1', sum: 'vars.sum + $reduce([1..600], function($a, $b) { $a + $b })' },
        },
        { id: 'again', type: 'condition', expression: `vars.i < ${iterations}` },
      ],
      edges: [
        { from: 'begin', to: 'work' },
        { from: 'work', to: 'again' },
        { from: 'again', to: 'work', when: 'nodes.again.output' },
      ],
    });
    assert.deepEqual(await handle.result(), { i: iterations, sum: iterations * 180_300 });

    const chain = await executions(client, handle);
    // About 450,000 units in all, two iterations a segment: an unbounded run is ONE execution.
    assert.ok(chain.length >= 3, `the run continued as new ${chain.length - 1} times`);
    const slicesPerSegment = (SEGMENT_LIMITS.units + SEGMENT_LIMITS.nodeUnits) / SLICE_LIMITS.units + 2;
    chain.forEach((events, n) => {
      const failed = events.filter((e) => e.workflowTaskFailedEventAttributes);
      assert.equal(failed.length, 0, `execution ${n}: a workflow task failed: ${JSON.stringify(failed[0])}`);
      const timers = events.filter((e) => e.timerStartedEventAttributes).length;
      assert.ok(timers <= slicesPerSegment, `execution ${n} yielded ${timers} times (bound ${slicesPerSegment})`);
      if (n < chain.length - 1) {
        const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
        assert.ok(markers.length > 0, `execution ${n} continued as new without the weft-bounded-segments marker`);
      }
    });

    // A node may no longer do more than one segment's node share: two heavy expressions fail it.
    const heavy = '$reduce([1..900], function($a, $b) { $a + $b })';
    const failing = await startRun(client, taskQueue, {
      id: 'bounded-node',
      nodes: [{ id: 'crunch', type: 'set', assign: { a: heavy, b: heavy } }],
    });
    await assert.rejects(failing.result(), (err: Error & { cause?: { message?: string } }) => {
      const message = `${err.message} ${err.cause?.message ?? ''}`;
      assert.match(message, new RegExp(`more than ${SEGMENT_LIMITS.nodeUnits} work units`));
      return true;
    });
  },
);
