/**
 * `resource_limits.max_concurrency` across runs, on the real dev server: a local HTTP target
 * tracks the calls in flight and holds them until the rest of the runs are seen waiting in line
 * at the node's limiter (workflows/limiter.ts); the limit is never exceeded, keys proceed
 * independently, a cancelled holder gives its permit back, a kill -9 of the worker or of the
 * Temporal server while 20 runs hold and wait loses no permit and never exceeds the limit, and two
 * worker processes on one queue share the work, one finishing everything when the other dies.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { limiterWorkflowId } from '../../activities/limiter.js';
import { DEFAULT_TENANT } from '../../src/shared/tenants.js';
import { freeFixedPort, startDevServer, type TemporalServer } from '../../src/temporal/dev-server.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import type { LimiterView } from '../../workflows/limiter.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun, waitForState } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { until as poll, untilTrue } from '../support/poll.js';
import { workerProcesses } from '../support/worker-process.js';

interface Held {
  res: ServerResponse;
  key: string;
  run: string;
}

let target: HttpTarget;
let client: Client;
let connection: Connection;
/** Calls being served now, and the most there ever were, per key ('' for all together). */
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();
let held: Held[] = [];
/** While false the target answers at once (after a crash: the retries). */
let holding = true;

const bump = (key: string, by: number) => {
  const now = (inFlight.get(key) ?? 0) + by;
  inFlight.set(key, now);
  if (now > (maxInFlight.get(key) ?? 0)) maxInFlight.set(key, now);
};

before(async () => {
  target = await startHttpTarget({
    '/limited': (req, res) => {
      const key = req.query.key ?? '';
      bump('', 1);
      bump(`k:${key}`, 1);
      // The request ends however it ends: answered, or its worker died (the socket closes).
      res.on('close', () => {
        bump('', -1);
        bump(`k:${key}`, -1);
      });
      if (holding) held.push({ res, key, run: req.query.run ?? '' });
      else json(res, 200, { ok: true });
    },
  });
  ({ client, connection } = await connectClient());
});

after(async () => {
  for (const h of held) h.res.destroy();
  await connection?.close();
  await target?.close();
});

const reset = () => {
  inFlight.clear();
  maxInFlight.clear();
  held = [];
  holding = true;
};

function limitedDefinition(id: string, limits: Record<string, unknown>, timeout = '60s') {
  return {
    id,
    variables: [
      { name: 'customer_id', type: 'string', default: '' },
      { name: 'run', type: 'string', default: '' },
    ],
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        timeout,
        retry_policy: { initial_interval: '200ms', max_interval: '1s' },
        resource_limits: limits,
        inputs: {
          url: `${target.url}/limited`,
          query: { key: '{{ vars.customer_id }}', run: '{{ vars.run }}' },
          timeout: '120s',
        },
        output: 'answer',
      },
    ],
    edges: [],
  };
}

async function limiterView(
  taskQueue: string,
  definitionId: string,
  key: string | null,
  on: Client = client,
): Promise<LimiterView | undefined> {
  const id = limiterWorkflowId(DEFAULT_TENANT, taskQueue, definitionId, 'call', key);
  try {
    return await on.workflow.getHandle(id).query<LimiterView>('limiter');
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Polls an async predicate until it holds (bounded generously: the machine is shared). */
async function eventually(predicate: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  await untilTrue(what, predicate, timeoutMs, 100);
}

/** No permit held or waited for: the limiter completed, or says so. */
async function limiterEmpty(
  taskQueue: string,
  definitionId: string,
  key: string | null,
  on: Client = client,
): Promise<boolean> {
  const view = await limiterView(taskQueue, definitionId, key, on).catch(() => undefined);
  return view === undefined || (view.holders.length === 0 && view.queue.length === 0);
}

const answer = (list: Held[]) => {
  for (const h of list) json(h.res, 200, { ok: true, run: h.run });
};

describe('max_concurrency across runs (in-process worker)', () => {
  let worker: RunningWorker;
  const taskQueue = unique('limits-it');
  before(async () => {
    worker = await startTestWorker(taskQueue);
  });
  after(async () => {
    await worker?.shutdown();
  });

  test('10 runs, max_concurrency 2: never more than 2 calls in flight, the rest wait in line, all complete', async () => {
    reset();
    const id = unique('limit-two');
    const definition = limitedDefinition(id, { max_concurrency: 2 });
    const handles: WorkflowHandle[] = [];
    for (let i = 0; i < 10; i++) handles.push(await startRun(client, taskQueue, definition, { run: `r${i}` }));
    let answered = 0;
    let sawWaitingState = false;
    while (answered < 10) {
      const expected = Math.min(2, 10 - answered);
      await untilTrue(`${expected} held calls`, () => held.length >= expected, 120_000, 50);
      // The others are seen waiting at the limiter before the held calls are answered.
      await eventually(async () => {
        const view = await limiterView(taskQueue, id, null);
        return view !== undefined && view.holders.length === expected && view.queue.length === 10 - answered - expected;
      }, 'the rest of the runs in line');
      assert.equal(held.length, expected, 'no more calls than permits');
      if (!sawWaitingState && 10 - answered - expected > 0) {
        // A run in line shows its node waiting, with the key and its place in line.
        const view = (await limiterView(taskQueue, id, null)) as LimiterView;
        const last = view.queue.at(-1)?.workflow_id as string;
        const state = await waitForState(
          client.workflow.getHandle(last),
          (s) => s.nodes.call?.permit?.position !== undefined,
        );
        assert.equal(state.nodes.call?.status, 'waiting');
        assert.deepEqual(state.nodes.call?.permit, { key: null, position: view.queue.length, waiting: 1 });
        assert.ok(state.active_nodes.includes('call'));
        sawWaitingState = true;
      }
      const now = held;
      held = [];
      answer(now);
      answered += now.length;
    }
    const results = await Promise.all(handles.map((h) => h.result()));
    assert.equal(results.length, 10);
    for (const result of results) assert.equal((result as { answer: { status: number } }).answer.status, 200);
    assert.equal(maxInFlight.get(''), 2, 'at most (and, with 10 runs, exactly) 2 calls at once');
    assert.ok(sawWaitingState);
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });

  test('with concurrency_key two keys proceed independently (2 + 2 in flight)', async () => {
    reset();
    const id = unique('limit-keyed');
    const definition = limitedDefinition(id, { max_concurrency: 2, concurrency_key: 'vars.customer_id' });
    const handles: WorkflowHandle[] = [];
    for (let i = 0; i < 4; i++)
      for (const customer of ['a', 'b'])
        handles.push(await startRun(client, taskQueue, definition, { customer_id: customer, run: `${customer}${i}` }));
    let answered = 0;
    while (answered < 8) {
      await untilTrue(
        'two held calls of each key',
        () => held.filter((h) => h.key === 'a').length >= 2 && held.filter((h) => h.key === 'b').length >= 2,
        120_000,
        50,
      );
      await eventually(async () => {
        const [a, b] = await Promise.all([limiterView(taskQueue, id, 'a'), limiterView(taskQueue, id, 'b')]);
        return a?.holders.length === 2 && b?.holders.length === 2;
      }, 'both keys at their limit');
      assert.equal(held.length, 4, '2 + 2 in flight');
      const now = held;
      held = [];
      answer(now);
      answered += now.length;
    }
    await Promise.all(handles.map((h) => h.result()));
    assert.equal(maxInFlight.get('k:a'), 2);
    assert.equal(maxInFlight.get('k:b'), 2);
    assert.equal(maxInFlight.get(''), 4, 'the keys do not share a limit');
    for (const key of ['a', 'b']) await eventually(() => limiterEmpty(taskQueue, id, key), `limiter ${key} empty`);
  });

  test('cancelling a run that holds a permit releases it once its call ended: the next run in line proceeds', async () => {
    reset();
    const id = unique('limit-cancel');
    const definition = limitedDefinition(id, { max_concurrency: 1 });
    const first = await startRun(client, taskQueue, definition, { run: 'first' });
    await untilTrue('the first call', () => held.length === 1, 120_000, 50);
    const second = await startRun(client, taskQueue, definition, { run: 'second' });
    await waitForState(second, (s) => s.nodes.call?.permit?.position === 1);
    await first.cancel();
    await waitForState(first, (s) => s.status === 'cancelled');
    // The cancelled call is still being served (connectors do not heartbeat): its permit is held.
    assert.equal(held.length, 1);
    assert.equal((await runState(second)).nodes.call?.status, 'waiting');
    answer(held.splice(0));
    // The second run gets the permit once the first call really ended.
    await untilTrue("the second run's call", () => held.some((h) => h.run === 'second'), 120_000, 50);
    const state = await waitForState(second, (s) => s.nodes.call?.permit === undefined);
    assert.equal(state.nodes.call?.status, 'running');
    answer(held.splice(0));
    await second.result();
    await assert.rejects(first.result());
    assert.equal(maxInFlight.get(''), 1, 'the cancelled call ended before the next started');
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });

  test('a map body with max_concurrency: items of two runs share the limit', async () => {
    reset();
    const id = unique('limit-map');
    const definition = {
      id,
      nodes: [
        {
          id: 'call',
          type: 'map',
          items: '[1, 2, 3]',
          output: 'results',
          task: {
            connector: 'http',
            action: 'request',
            resource_limits: { max_concurrency: 2 },
            inputs: { url: `${target.url}/limited`, query: { run: '{{ item }}' }, timeout: '120s' },
          },
        },
      ],
    };
    const handles = [await startRun(client, taskQueue, definition), await startRun(client, taskQueue, definition)];
    let answered = 0;
    while (answered < 6) {
      const expected = Math.min(2, 6 - answered);
      await untilTrue(`${expected} held calls`, () => held.length >= expected, 120_000, 50);
      await eventually(async () => {
        const view = await limiterView(taskQueue, id, null);
        return view?.holders.length === expected && view.queue.length === 6 - answered - expected;
      }, 'the other items in line');
      assert.equal(held.length, expected);
      const now = held;
      held = [];
      answer(now);
      answered += now.length;
    }
    for (const result of await Promise.all(handles.map((h) => h.result())))
      assert.equal((result as { results: unknown[] }).results.length, 3);
    assert.equal(maxInFlight.get(''), 2);
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });

  test('a holder whose run is terminated (no release) has its permit taken back by the limiter', async () => {
    reset();
    const id = unique('limit-terminate');
    const definition = limitedDefinition(id, { max_concurrency: 1 });
    const first = await startRun(client, taskQueue, definition, { run: 'first' });
    await untilTrue('the first call', () => held.length === 1, 120_000, 50);
    const second = await startRun(client, taskQueue, definition, { run: 'second' });
    await waitForState(second, (s) => s.nodes.call?.permit?.position === 1);
    await first.terminate('test: a run that closes without releasing');
    // The orphaned call is answered by the test; the limiter finds the closed holder on its check.
    answer(held.splice(0));
    await untilTrue(
      "the second run's call (after the holder check)",
      () => held.some((h) => h.run === 'second'),
      120_000,
      50,
    );
    answer(held.splice(0));
    await second.result();
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });

  test('skipping a node that waits for a permit gives its place in line up', async () => {
    reset();
    const id = unique('limit-skip');
    const definition = limitedDefinition(id, { max_concurrency: 1 });
    const first = await startRun(client, taskQueue, definition, { run: 'first' });
    await untilTrue('the first call', () => held.length === 1, 120_000, 50);
    const second = await startRun(client, taskQueue, definition, { run: 'second' });
    await waitForState(second, (s) => s.nodes.call?.permit?.position === 1);
    await second.executeUpdate('control', { args: [{ type: 'skip', node: 'call', by: 'test' }] });
    await second.result();
    await eventually(async () => {
      const view = await limiterView(taskQueue, id, null);
      return view?.holders.length === 1 && view.queue.length === 0;
    }, 'the skipped run to leave the line');
    answer(held.splice(0));
    await first.result();
    assert.equal(maxInFlight.get(''), 1);
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });
});

describe('max_concurrency across a worker crash', () => {
  const taskQueue = unique('limits-kill');
  const workers = workerProcesses(taskQueue);
  after(() => workers.cleanup());

  test('kill -9 of the worker while runs hold and wait for permits: all complete, the max never exceeded, no permit left held', async () => {
    reset();
    const id = unique('limit-crash');
    // The calls the dead worker started are retried (under the same permit) once their timeout
    // passes. Longer than the calls are held: a retry of an attempt Temporal timed out while it
    // still runs would overlap it (connectors do not heartbeat), and the target would count both.
    const definition = limitedDefinition(id, { max_concurrency: 2 }, '20s');
    const first = workers.spawn();
    const handles: WorkflowHandle[] = [];
    for (let i = 0; i < 20; i++) handles.push(await startRun(client, taskQueue, definition, { run: `c${i}` }));
    await untilTrue('two held calls', () => held.length === 2, 120_000, 50);
    await eventually(async () => {
      const view = await limiterView(taskQueue, id, null);
      return view?.holders.length === 2 && view.queue.length === 18;
    }, 'eighteen runs in line');
    await workers.killAndReplace(first, () => {
      for (const h of held.splice(0)) h.res.destroy();
      holding = false;
    });
    const results = await Promise.all(handles.map((h) => h.result()));
    for (const result of results) assert.equal((result as { answer: { status: number } }).answer.status, 200);
    assert.ok((maxInFlight.get('') ?? 0) <= 2, `at most 2 calls at once, saw ${maxInFlight.get('')}`);
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });
});

describe('max_concurrency across a kill -9 of the Temporal server', () => {
  // A server of this test's own, with a database file so it keeps its runs across the crash.
  let dataDir: string;
  let port: number;
  let server: TemporalServer | undefined;
  let worker: RunningWorker | undefined;
  let own: Connection | undefined;
  const taskQueue = unique('limits-server-kill');
  const startServer = () =>
    startDevServer({ port, headless: true, dbFile: join(dataDir, 'temporal.db'), log: () => undefined });
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-limits-server-'));
    port = await freeFixedPort();
    server = await startServer();
  });
  after(async () => {
    await worker?.shutdown();
    await own?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(
    '20 runs hold and wait for permits (max_concurrency 2) when Temporal dies: all complete, the max never exceeded, no permit left held',
    { timeout: 600_000 },
    async () => {
      reset();
      const address = (server as TemporalServer).address;
      own = await Connection.connect({ address });
      const ownClient = new Client({ connection: own, namespace: 'default' });
      worker = await startWorker({ address, namespace: 'default', taskQueue });
      const id = unique('limit-server-crash');
      // Longer than the calls are held (see the worker crash above).
      const definition = limitedDefinition(id, { max_concurrency: 2 }, '20s');
      const handles: WorkflowHandle[] = [];
      for (let i = 0; i < 20; i++) handles.push(await startRun(ownClient, taskQueue, definition, { run: `s${i}` }));
      await untilTrue('two held calls', () => held.length === 2, 120_000, 50);
      await eventually(async () => {
        const view = await limiterView(taskQueue, id, null, ownClient);
        return view?.holders.length === 2 && view.queue.length === 18;
      }, 'eighteen runs in line');

      if (server?.kill === undefined) assert.fail('the dev server cannot be killed (not started from the CLI)');
      await server.kill();
      server = undefined;
      // The calls in flight end while Temporal is down; their retries (under the same permits) are answered.
      for (const h of held.splice(0)) h.res.destroy();
      holding = false;
      server = await poll(
        'Temporal to start again on its port',
        () => startServer().catch(() => undefined),
        180_000,
        1_000,
      );

      const results = await Promise.all(handles.map((h) => h.result()));
      for (const result of results) assert.equal((result as { answer: { status: number } }).answer.status, 200);
      assert.ok((maxInFlight.get('') ?? 0) <= 2, `at most 2 calls at once, saw ${maxInFlight.get('')}`);
      await eventually(() => limiterEmpty(taskQueue, id, null, ownClient), 'the limiter to hold no permit', 180_000);
    },
  );
});

/** Who ran each `runConnector` attempt of a run: the identities of its ActivityTaskStarted events. */
async function connectorIdentities(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const connectorScheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runConnector')
      .map((e) => String(e.eventId)),
  );
  return events
    .filter((e) => connectorScheduled.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes?.identity ?? '');
}

describe('two worker processes on one task queue', () => {
  const taskQueue = unique('limits-two');
  const workers = workerProcesses(taskQueue);
  after(() => workers.cleanup());

  test('both get work, and killing one leaves the other finishing everything (the limit holds throughout)', async () => {
    reset();
    const a = workers.spawn();
    const b = workers.spawn();
    const identity = (pid: number | undefined) => `${pid}@`;
    const id = unique('limit-two');
    // Longer than the calls are held (see the worker crash above).
    const definition = limitedDefinition(id, { max_concurrency: 4 }, '20s');
    // Both workers serve the queue: the calls of 20 runs land on each of them.
    holding = false;
    const first: WorkflowHandle[] = [];
    for (let i = 0; i < 20; i++) first.push(await startRun(client, taskQueue, definition, { run: `a${i}` }));
    await Promise.all(first.map((h) => h.result()));
    const ran = (await Promise.all(first.map(connectorIdentities))).flat();
    const byA = ran.filter((who) => who.startsWith(identity(a.pid))).length;
    const byB = ran.filter((who) => who.startsWith(identity(b.pid))).length;
    assert.equal(byA + byB, ran.length, `every call ran on one of the two workers: ${ran.join(', ')}`);
    assert.ok(byA > 0 && byB > 0, `both workers got calls: ${byA} on one, ${byB} on the other`);

    // One dies (kill -9) while calls are in flight and more wait for permits: the other finishes all.
    reset();
    const second: WorkflowHandle[] = [];
    for (let i = 0; i < 12; i++) second.push(await startRun(client, taskQueue, definition, { run: `b${i}` }));
    await untilTrue('four held calls', () => held.length === 4, 120_000, 50);
    a.kill('SIGKILL');
    await once(a, 'exit');
    for (const h of held.splice(0)) h.res.destroy();
    holding = false;
    const results = await Promise.all(second.map((h) => h.result()));
    for (const result of results) assert.equal((result as { answer: { status: number } }).answer.status, 200);
    assert.ok((maxInFlight.get('') ?? 0) <= 4, `at most 4 calls at once, saw ${maxInFlight.get('')}`);
    // The last attempt of every call ran on the surviving worker.
    for (const handle of second) {
      const attempts = await connectorIdentities(handle);
      assert.ok(attempts.at(-1)?.startsWith(identity(b.pid)), `${handle.workflowId} ended on ${attempts.join(', ')}`);
    }
    await eventually(() => limiterEmpty(taskQueue, id, null), 'the limiter to hold no permit');
  });
});
