/**
 * `resource_limits.memory_mb` on the real dev server: a worker with a 100 MB budget runs a map
 * of 6 items whose http task declares `memory_mb: 40` against a local HTTP server that tracks the
 * calls in flight and holds them: never more than 2 in flight, the other 4 waiting in the
 * worker's line, and all complete once released. A call over the whole budget fails at once
 * with MemoryBudgetExceeded, not retried. A waiting call whose run is cancelled gives its place
 * up holding nothing. An ai node's model call waits the same way, and one over the budget never
 * reaches the model. And the worker's settings: activity slots under the resource-based tuner
 * with its targets, workflow tasks fixed; the environment variables are checked.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { MemoryBudget } from '../../activities/memory-budget.js';
import { loadConfig } from '../../src/config.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { untilTrue } from '../support/poll.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun, waitForState } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

let target: HttpTarget;
let fake: FakeOpenAi;
let client: Client;
let connection: Connection;
let worker: RunningWorker;
let taskQueue: string;
const budget = new MemoryBudget(100);
let inFlight = 0;
let maxInFlight = 0;
let held: Array<{ res: ServerResponse; run: string }> = [];

before(async () => {
  target = await startHttpTarget({
    '/weighed': (req, res) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => (inFlight -= 1));
      held.push({ res, run: req.query.run ?? '' });
    },
  });
  fake = await startFakeOpenAi();
  ({ client, connection } = await connectClient());
  taskQueue = unique('memory');
  worker = await startTestWorker(taskQueue, {
    memoryBudget: budget,
    resourceTargets: { memory: 0.85, cpu: 0.95 },
    activityDeps: { ai: { baseURL: fake.url, apiKey: fake.apiKey, models: { fast: 'gpt-test-mini' } } },
  });
});

after(async () => {
  for (const h of held) h.res.destroy();
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
  await fake?.close();
});

const answer = (calls: typeof held) => {
  for (const h of calls) json(h.res, 200, { ok: true, run: h.run });
};

/** A task calling the tracking server with `memory_mb`, no retries unless given. */
const weighedTask = (memoryMb: number, run: string, extra: Record<string, unknown> = {}) => ({
  connector: 'http',
  action: 'request',
  resource_limits: { memory_mb: memoryMb },
  inputs: { url: `${target.url}/weighed`, query: { run }, timeout: '120s' },
  ...extra,
});

describe('memory_mb against the worker budget', () => {
  test('a map of 6 items with memory_mb 40 on a 100 MB budget: never more than 2 calls in flight, all complete', async () => {
    const id = unique('memory-map');
    const handle = await startRun(client, taskQueue, {
      id,
      nodes: [
        {
          id: 'each',
          type: 'map',
          items: '[1, 2, 3, 4, 5, 6]',
          max_concurrency: 6,
          output: 'results',
          task: { ...weighedTask(40, '{{ item }}'), timeout: '120s' },
        },
      ],
    });
    // Two calls hold 80 MB; the other four wait in the worker's line (all six were started at once).
    await untilTrue(
      'two calls in flight and four waiting',
      () => held.length === 2 && budget.waiting === 4,
      120_000,
      50,
    );
    assert.equal(budget.reservedMb, 80);
    // Released one at a time: each release lets exactly one more in.
    for (let served = 2; served < 6; served++) {
      answer(held.splice(0, 1));
      await untilTrue(`call ${served + 1} in flight`, () => held.length === 2, 120_000, 50);
      assert.equal(budget.waiting, 4 - (served - 1));
    }
    answer(held.splice(0));
    const result = (await handle.result()) as { results: unknown[] };
    assert.equal(result.results.length, 6);
    assert.equal(maxInFlight, 2, 'never more than 100 MB / 40 MB = 2 calls at once');
    await untilTrue('the budget free again', () => budget.reservedMb === 0, 30_000, 50);
  });

  test('a call over the whole budget fails at once, not retried, with MemoryBudgetExceeded naming memory_mb and the budget', async () => {
    const before = target.count('/weighed');
    const handle = await startRun(client, taskQueue, {
      id: unique('memory-over'),
      nodes: [
        {
          id: 'huge',
          type: 'task',
          ...weighedTask(150, 'huge', { retry_policy: { max_attempts: 5, initial_interval: '100ms' } }),
        },
      ],
    });
    await assert.rejects(handle.result());
    const state = await runState(handle);
    assert.equal(state.status, 'failed');
    const error = state.nodes.huge?.error;
    assert.equal(error?.type, 'MemoryBudgetExceeded', JSON.stringify(state.nodes.huge));
    assert.match(error?.message ?? '', /memory_mb is 150 MB, more than this worker's whole memory budget of 100 MB/);
    assert.equal(state.nodes.huge?.attempts, 1, 'not retried');
    assert.equal(target.count('/weighed'), before, 'the connector never ran');
    assert.equal(budget.reservedMb, 0);
  });

  test('a waiting call whose run is cancelled gives its place up and releases nothing it did not hold', async () => {
    held = [];
    const holder = await startRun(client, taskQueue, {
      id: unique('memory-holder'),
      nodes: [{ id: 'call', type: 'task', ...weighedTask(70, 'holder') }],
    });
    await untilTrue("the holder's call", () => held.length === 1, 120_000, 50);
    const waiter = await startRun(client, taskQueue, {
      id: unique('memory-waiter'),
      nodes: [{ id: 'call', type: 'task', ...weighedTask(50, 'waiter') }],
    });
    await untilTrue('the second call waiting for memory', () => budget.waiting === 1, 120_000, 50);
    await waiter.cancel();
    await waitForState(waiter, (s) => s.status === 'cancelled');
    // The cancellation reaches the waiting activity through its heartbeats.
    await untilTrue('the waiting call to leave the line', () => budget.waiting === 0, 60_000, 50);
    assert.equal(budget.reservedMb, 70, "the holder's reservation, untouched by the cancelled waiter");
    // 30 MB still fit beside the holder: a third call starts while the holder runs.
    const third = await startRun(client, taskQueue, {
      id: unique('memory-third'),
      nodes: [{ id: 'call', type: 'task', ...weighedTask(30, 'third') }],
    });
    await untilTrue('the third call beside the holder', () => held.length === 2, 120_000, 50);
    assert.equal(budget.reservedMb, 100);
    answer(held.splice(0));
    await Promise.all([holder.result(), third.result()]);
    assert.ok(!held.some((h) => h.run === 'waiter'), 'the cancelled call never reached the server');
    await untilTrue('the budget free again', () => budget.reservedMb === 0, 30_000, 50);
  });
});

describe('memory_mb of ai nodes', () => {
  const ask = (id: string, memoryMb: number) => ({
    id,
    type: 'ai',
    model: 'fast',
    prompt_template: `say ${id}`,
    resource_limits: { memory_mb: memoryMb },
    retry_policy: { max_attempts: 3, initial_interval: '100ms' },
    output: id,
  });

  test('two ai nodes of 60 MB on a 100 MB budget: the second model call waits until the first ended', async () => {
    fake.reset();
    // Slow answers, so the second call is seen waiting while the first is being answered.
    fake.enqueue({ content: 'one', delay_ms: 8_000 }, { content: 'two', delay_ms: 8_000 });
    const handle = await startRun(client, taskQueue, { id: unique('memory-ai'), nodes: [ask('a', 60), ask('b', 60)] });
    // The first call reached the model (its reservation comes first), the second waits for memory.
    await untilTrue(
      'one model call at the model, one waiting for memory',
      () => budget.waiting === 1 && budget.reservedMb === 60 && fake.requests.length === 1,
      120_000,
      50,
    );
    const result = (await handle.result()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result).sort(), ['a', 'b']);
    assert.equal(fake.requests.length, 2);
    assert.equal(budget.reservedMb, 0);
  });

  test('an ai node over the whole budget fails with MemoryBudgetExceeded before calling the model', async () => {
    fake.reset();
    const handle = await startRun(client, taskQueue, { id: unique('memory-ai-over'), nodes: [ask('big', 101)] });
    await assert.rejects(handle.result());
    const state = await runState(handle);
    assert.equal(state.nodes.big?.error?.type, 'MemoryBudgetExceeded', JSON.stringify(state.nodes.big));
    assert.equal(state.nodes.big?.attempts, 1, 'not retried');
    const asked = fake.requests.filter((r) => JSON.stringify(r.body).includes('say big'));
    assert.equal(asked.length, 0, 'the model was never called');
  });
});

describe('the worker tuner and its settings', () => {
  test('activity slots come from the resource-based tuner (one controller per target pair in the process); workflow tasks stay fixed at 4', async () => {
    // The tuner as the SDK compiled it for its core (`asNativeTuner`): the controller is the native one.
    type Tuner = Record<string, { type: string; numSlots?: number; controller?: unknown } | undefined>;
    const tunerOf = (running: RunningWorker) => (running.worker.options as unknown as { tuner: Tuner }).tuner;
    const controllerOf = (running: RunningWorker) => tunerOf(running).resourceBasedTunerConfig?.controller;
    const tuner = tunerOf(worker);
    assert.equal(tuner.workflowTaskSlotSupplier?.type, 'fixed-size');
    assert.equal(tuner.workflowTaskSlotSupplier?.numSlots, 4);
    assert.equal(tuner.activityTaskSlotSupplier?.type, 'resource-based');
    // Never fewer than the worker's old fixed 100 activity slots, however loaded the host.
    assert.equal((tuner.activityTaskSlotSupplier as { minimumSlots?: number }).minimumSlots, 100);
    assert.equal(tuner.resourceBasedTunerConfig?.type, 'controller');
    assert.ok(controllerOf(worker) !== undefined);
    // A second worker of the process with the same targets shares the controller (one target for both).
    const second = await startTestWorker(unique('memory-second'), { resourceTargets: { memory: 0.85, cpu: 0.95 } });
    const other = await startTestWorker(unique('memory-other'), {
      resourceTargets: { memory: 0.5, cpu: 0.95 },
      activitySlotsMin: 7,
    });
    try {
      assert.equal(controllerOf(second), controllerOf(worker));
      assert.notEqual(controllerOf(other), controllerOf(worker));
      assert.equal((tunerOf(other).activityTaskSlotSupplier as { minimumSlots?: number }).minimumSlots, 7);
    } finally {
      await second.shutdown();
      await other.shutdown();
    }
  });

  test('WEFT_WORKER_MEMORY_TARGET, WEFT_WORKER_CPU_TARGET, WEFT_WORKER_ACTIVITY_SLOTS_MIN and WEFT_WORKER_MEMORY_MB are checked; unset, the defaults', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.workerTargets, { memory: 0.8, cpu: 0.9 });
    assert.equal(defaults.workerMemoryMb, undefined);
    assert.equal(defaults.workerActivitySlotsMin, undefined);
    assert.equal(loadConfig({ WEFT_WORKER_ACTIVITY_SLOTS_MIN: '10' }).workerActivitySlotsMin, 10);
    const given = loadConfig({
      WEFT_WORKER_MEMORY_TARGET: '0.6',
      WEFT_WORKER_CPU_TARGET: '1',
      WEFT_WORKER_MEMORY_MB: '2048',
    });
    assert.deepEqual(given.workerTargets, { memory: 0.6, cpu: 1 });
    assert.equal(given.workerMemoryMb, 2048);
    for (const [name, value, message] of [
      ['WEFT_WORKER_MEMORY_TARGET', '0', /fraction of the host's memory .* greater than 0 and at most 1/],
      ['WEFT_WORKER_MEMORY_TARGET', '80', /fraction of the host's memory/],
      ['WEFT_WORKER_MEMORY_TARGET', 'most', /fraction of the host's memory/],
      ['WEFT_WORKER_CPU_TARGET', '-0.5', /fraction of the host's CPU/],
      ['WEFT_WORKER_CPU_TARGET', '1.5', /fraction of the host's CPU/],
      ['WEFT_WORKER_MEMORY_MB', '0', /at least 1 MB/],
      ['WEFT_WORKER_MEMORY_MB', '1.5', /whole number of MB/],
      ['WEFT_WORKER_MEMORY_MB', 'lots', /whole number of MB/],
      ['WEFT_WORKER_ACTIVITY_SLOTS_MIN', '0', /at least 1 activity slot/],
      ['WEFT_WORKER_ACTIVITY_SLOTS_MIN', '5000', /at most 2000/],
      ['WEFT_WORKER_ACTIVITY_SLOTS_MIN', 'some', /whole number of activity slots/],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) => err.message.includes(`${name}: `) && message.test(err.message),
        `${name}=${value}`,
      );
    }
  });
});
