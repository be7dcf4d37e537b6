/**
 * A loop of costly (but individually bounded) expressions must not hold one workflow activation
 * past the sandbox's limit: the worker stays healthy.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { executions, startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('heavy-loop');

before(async () => {
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
});

test('a loop of heavy expressions completes and the worker stays healthy', { timeout: 600_000 }, async () => {
  // About 4 s of expression work: past the SDK's 2 s deadlock detector if it were one activation.
  const iterations = 8;
  const raw = {
    id: 'heavy-loop',
    variables: [
      { name: 'i', type: 'number', default: 0 },
      { name: 'sum', type: 'number' },
    ],
    options: { max_node_visits: iterations + 10 },
    nodes: [
      { id: 'begin', type: 'set', assign: { i: '0' } },
      { id: 'work', type: 'set', assign: { i: 'vars.i + 1', sum: '$reduce([1..600], function($a, $b) { $a + $b })' } },
      { id: 'again', type: 'condition', expression: `vars.i < ${iterations}` },
    ],
    edges: [
      { from: 'begin', to: 'work' },
      { from: 'work', to: 'again' },
      { from: 'again', to: 'work', when: 'nodes.again.output' },
    ],
  };
  const handle = await startRun(client, taskQueue, raw);
  const out = (await handle.result()) as { i: number; sum: number };
  assert.deepEqual([out.i, out.sum], [iterations, 180_300]);
  // The engine paused between iterations and inside them (durable 1 ms timers, each about a second
  // on the dev server) instead of one endless activation.
  // Counted over the run's whole chain: the run continues as new between segments of work.
  const timers = (await executions(client, handle)).flat().filter((e) => e.timerStartedEventAttributes).length;
  assert.ok(timers >= 2, `expected the long step to pause, found ${timers} timers`);
  // The worker is healthy: an ordinary run completes after it.
  const quick = await startRun(client, taskQueue, {
    id: 'after-heavy',
    nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
  });
  assert.deepEqual(await quick.result(), { x: 1 });
});
