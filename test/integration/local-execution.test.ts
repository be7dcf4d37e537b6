/**
 * `execution: "local"` on a real Temporal dev server: connector calls run as local activities
 * (one MarkerRecorded event each instead of the activity's events), retry under the node's
 * policy, and survive a kill -9 of the worker mid-sequence, repeating what the lost workflow
 * task had done (at least once, counted on the target).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { untilTrue } from '../support/poll.js';
import { json, queryStep, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { workerProcesses } from '../support/worker-process.js';

let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('local-exec');
const hanging: ServerResponse[] = [];

before(async () => {
  target = await startHttpTarget({
    '/step': (req, res) => json(res, 200, { step: req.query.n }),
    '/flaky': (_req, res, nth) => (nth < 3 ? json(res, 500, { error: 'not yet' }) : json(res, 200, { nth })),
    // The first call never answers (its worker is killed meanwhile); later ones answer at once.
    '/hang': (_req, res, nth) => (nth === 1 ? void hanging.push(res) : json(res, 200, { nth })),
  });
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  for (const res of hanging) res.destroy();
  await target?.close();
});

const step = (id: string, extra: Record<string, unknown> = {}) => queryStep(target.url, id, extra);

/** A sequence of `n` steps s1…sn, then a set node reading the last output. */
function sequence(id: string, n: number, options: Record<string, unknown> = {}) {
  const ids = Array.from({ length: n }, (_, i) => `s${i + 1}`);
  return {
    id,
    options,
    nodes: [...ids.map((s) => step(s)), { id: 'done', type: 'set', assign: { last: `nodes.s${n}.output.body.step` } }],
    edges: [...ids.slice(1).map((s, i) => ({ from: ids[i] ?? '', to: s })), { from: `s${n}`, to: 'done' }],
  };
}

async function eventCounts(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  return {
    total: events.length,
    // Local activities' markers; `patched()` writes markers of its own (`core_patch`).
    markers: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
  };
}

describe('execution: "local"', () => {
  test('a sequence of local steps completes with ≤ 1.1 history events per step beyond the fixed ones', async () => {
    const steps = 20;
    // The same run without its steps: what every run writes whatever it does.
    const empty = await startRun(client, taskQueue, {
      id: 'local-empty',
      nodes: [{ id: 'done', type: 'set', assign: { last: '"none"' } }],
    });
    await empty.result();
    const fixed = (await eventCounts(empty)).total;

    const handle = await startRun(client, taskQueue, sequence('local-seq', steps, { execution: 'local' }));
    const result = (await handle.result()) as { last: string };
    assert.equal(result.last, `s${steps}`);
    for (let i = 1; i <= steps; i++) assert.equal(target.requests.filter((r) => r.query.n === `s${i}`).length, 1);
    const counts = await eventCounts(handle);
    assert.equal(counts.activities, 0, 'no call ran as an activity');
    assert.equal(counts.markers, steps, 'one marker per local step');
    const perStep = (counts.total - fixed) / steps;
    console.log(`# ${steps} local steps: ${counts.total} events, ${fixed} fixed, ${perStep.toFixed(2)} per step`);
    assert.ok(perStep <= 1.1, `${perStep} events per local step`);
  });

  test('a local step retries a 500 under its retry policy, then succeeds', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'local-retry',
      nodes: [
        step('flaky', {
          execution: 'local',
          inputs: { url: `${target.url}/flaky` },
          retry_policy: { initial_interval: '100ms', max_attempts: 5 },
        }),
      ],
    });
    const result = (await handle.result()) as { flaky: { status: number; body: { nth: number } } };
    assert.equal(result.flaky.status, 200);
    assert.equal(result.flaky.body.nth, 3);
    assert.equal(target.count('/flaky'), 3);
    const state = await handle.query<{ nodes: Record<string, { attempts: number }> }>('state');
    assert.equal(state.nodes.flaky?.attempts, 3);
    // Backoffs under localRetryThreshold wait inside the worker: one marker for the whole call.
    assert.deepEqual(await eventCounts(handle).then((c) => [c.markers, c.activities]), [1, 0]);
  });

  test('local and activity steps mix; options.execution is the default a node overrides', async () => {
    const handle = await startRun(client, taskQueue, {
      id: 'local-mixed',
      options: { execution: 'local' },
      nodes: [step('quick'), step('remote', { execution: 'activity' })],
      edges: [{ from: 'quick', to: 'remote' }],
    });
    const result = (await handle.result()) as { quick: { body: unknown }; remote: { body: unknown } };
    assert.deepEqual(result.quick.body, { step: 'quick' });
    assert.deepEqual(result.remote.body, { step: 'remote' });
    assert.deepEqual(await eventCounts(handle).then((c) => [c.markers, c.activities]), [1, 1]);
  });
});

describe('execution: "local" and a routed connector', () => {
  test('a connector WEFT_CONNECTOR_QUEUES routes elsewhere keeps running there as an activity', async () => {
    const routed = unique('local-routed');
    const pool = await startTestWorker(routed);
    try {
      const handle = await startRun(
        client,
        taskQueue,
        { id: 'local-routed', nodes: [step('r', { execution: 'local' })] },
        {},
        { connector_queues: { http: routed } },
      );
      const result = (await handle.result()) as { r: { body: unknown } };
      assert.deepEqual(result.r.body, { step: 'r' });
      const events = (await handle.fetchHistory()).events ?? [];
      const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes ?? []);
      assert.deepEqual(
        scheduled.map((a) => a.taskQueue?.name),
        [routed],
      );
      assert.equal(
        events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
        0,
      );
    } finally {
      await pool.shutdown();
    }
  });
});

describe('execution: "local" and a worker crash', () => {
  const crashQueue = unique('local-crash');
  const workers = workerProcesses(crashQueue);
  after(() => workers.cleanup());

  test('a kill -9 mid-sequence: the run completes on a new worker, every step at least once', async () => {
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const definition = {
      id: 'local-crash',
      options: { execution: 'local' },
      nodes: [
        ...ids.map((id) =>
          id === 'c3'
            ? step(id, { inputs: { url: `${target.url}/hang`, timeout: '60s' }, timeout: '20s' })
            : step(id, { inputs: { url: `${target.url}/step?n=${id}` } }),
        ),
      ],
      edges: ids.slice(1).map((id, i) => ({ from: ids[i] ?? '', to: id })),
    };
    const first = workers.spawn();
    const handle = await startRun(client, crashQueue, definition);
    await untilTrue('the hanging local call to arrive', () => target.count('/hang') === 1, 120_000, 50);
    const exited = once(first, 'exit');
    first.kill('SIGKILL');
    await exited;
    workers.spawn();
    const result = (await handle.result()) as Record<string, { status: number }>;
    for (const id of ids) assert.equal(result[id]?.status, 200, `step ${id}`);
    const calls = Object.fromEntries(
      ids.map((id) => [
        id,
        id === 'c3' ? target.count('/hang') : target.requests.filter((r) => r.query.n === id).length,
      ]),
    );
    const duplicates = Object.entries(calls).filter(([, n]) => n > 1);
    console.log(`# calls per step after the crash: ${JSON.stringify(calls)}; repeated: ${JSON.stringify(duplicates)}`);
    for (const id of ids) assert.ok((calls[id] ?? 0) >= 1, `step ${id} happened at least once`);
    // The killed call itself was repeated: its attempt never reported back.
    assert.ok((calls.c3 ?? 0) >= 2);
  });
});
