/**
 * Queues and worker pools on the real dev server: a run whose `postgres` task is routed to a pool
 * queue (`connector_queues`, what `WEFT_CONNECTOR_QUEUES` puts in every start) runs that call on a
 * worker process serving only that queue (`--queues` / `WEFT_WORKER_QUEUES`), while its workflow
 * tasks and its `http` call stay on the main worker; with no pool worker up the routed call waits
 * on its queue, and completes once one starts. Load balancing over two workers of one queue, and
 * one finishing everything when the other dies, is `resource-limits.test.ts`'s two-worker test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { allowEgress, egressEntry } from '../support/egress.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { until } from '../support/poll.js';
import { POSTGRES_ADMIN_URL } from '../support/postgres.js';
import { executions, runState, startRun, versioned } from '../support/runs.js';
import { NAMESPACE, connectClient, startTestWorker, temporalAddress, unique } from '../support/temporal.js';
import { startFakeOpenAi } from '../support/fake-openai.js';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process.js';

const workerScript = fileURLToPath(new URL('../../src/cli/worker.js', import.meta.url));
let client: Client;
let connection: Connection;
let target: HttpTarget;
let mainWorker: RunningWorker;
let revokeEgress: () => void;
const mainQueue = unique('queues-main');
/** Worker processes of the pools, each started with `--queues <its pool>`. */
const pools: WorkerProcesses[] = [];
/** The in-process main worker's identity, as the SDK makes it by default. */
const mainIdentity = `${process.pid}@${hostname()}`;

before(async () => {
  target = await startHttpTarget({ '/ping': (_req, res) => json(res, 200, { pong: true }) });
  // The pool workers inherit this process's allowances (and connect to the database as its owner).
  revokeEgress = allowEgress(egressEntry(POSTGRES_ADMIN_URL));
  ({ client, connection } = await connectClient());
  // Subworkflow nodes load their child's definition from here.
  mainWorker = await startTestWorker(mainQueue, {
    definitions: { get: (id) => Promise.resolve(id === childDefinition.id ? childDefinition : undefined) },
  });
});

after(async () => {
  for (const pool of pools) pool.cleanup();
  await mainWorker?.shutdown();
  await connection?.close();
  await target?.close();
  revokeEgress?.();
});

/** Worker processes on the main queue's configuration; each spawn names the queues it serves. */
function pool(): WorkerProcesses {
  const processes = workerProcesses(mainQueue, {
    WEFT_POSTGRES_URL: POSTGRES_ADMIN_URL,
    WEFT_POSTGRES_ALLOW_PRIVILEGED: 'true',
    // Shows that --queues wins over the variable.
    WEFT_WORKER_QUEUES: mainQueue,
  });
  pools.push(processes);
  return processes;
}

const definition = (id: string) => ({
  id,
  nodes: [
    {
      id: 'query',
      type: 'task',
      connector: 'postgres',
      action: 'query',
      inputs: { sql: 'SELECT 41 + 1 AS answer' },
      output: 'row',
    },
    {
      id: 'ping',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/ping` },
      output: 'pong',
    },
  ],
  edges: [{ from: 'query', to: 'ping' }],
});

/** A stored definition a parent starts as a child: one postgres query. */
const childDefinition = versioned({
  id: unique('queues-child'),
  nodes: [{ id: 'query', type: 'task', connector: 'postgres', action: 'query', inputs: { sql: 'SELECT 7 AS seven' } }],
  edges: [],
});

interface Call {
  connector: string;
  queue: string;
  /** Who ran its attempts (ActivityTaskStarted, written once the attempt ended). */
  identities: string[];
}

/** Every `runConnector` call of a run: its connector, the queue it was scheduled on, who ran it. */
async function connectorCalls(handle: WorkflowHandle): Promise<Call[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const calls = new Map<string, Call>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== 'runConnector') continue;
    const data = scheduled.input?.payloads?.[0]?.data;
    const call = JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { connector: string };
    calls.set(String(event.eventId), {
      connector: call.connector,
      queue: scheduled.taskQueue?.name ?? '',
      identities: [],
    });
  }
  for (const event of events) {
    const started = event.activityTaskStartedEventAttributes;
    const call = started && calls.get(String(started.scheduledEventId));
    if (call) call.identities.push(started.identity ?? '');
  }
  return [...calls.values()];
}

/** Who ran the run's workflow tasks. */
async function workflowTaskIdentities(handle: WorkflowHandle): Promise<Set<string>> {
  const events = (await handle.fetchHistory()).events ?? [];
  return new Set(
    events.flatMap((e) =>
      e.workflowTaskStartedEventAttributes ? [e.workflowTaskStartedEventAttributes.identity ?? ''] : [],
    ),
  );
}

describe('a connector routed to its own queue', () => {
  test('runs on the worker process serving only that queue; the workflow and the other connector stay on the main worker', async () => {
    const heavy = unique('queues-heavy');
    const worker = pool().spawn(['--queues', heavy]);
    const handle = await startRun(
      client,
      mainQueue,
      definition(unique('routed')),
      {},
      { connector_queues: { postgres: heavy } },
    );
    const result = (await handle.result()) as { row: { rows: Array<{ answer: number }> }; pong: { status: number } };
    assert.equal(result.row.rows[0]?.answer, 42);
    assert.equal(result.pong.status, 200);

    const calls = await connectorCalls(handle);
    const postgres = calls.find((c) => c.connector === 'postgres');
    const http = calls.find((c) => c.connector === 'http');
    assert.equal(postgres?.queue, heavy, 'the postgres call was scheduled on the pool queue');
    assert.ok(postgres.identities.length > 0);
    for (const who of postgres.identities)
      assert.ok(who.startsWith(`${worker.pid}@`), `postgres ran on the pool worker, not ${who}`);
    assert.equal(http?.queue, mainQueue, 'the http call stayed on the run queue');
    assert.deepEqual(http.identities, [mainIdentity]);
    assert.deepEqual(
      [...(await workflowTaskIdentities(handle))],
      [mainIdentity],
      'every workflow task ran on the main worker',
    );
  });

  test('with no pool worker up the call waits on its queue, and completes once one starts (nothing lost)', async () => {
    const later = unique('queues-later');
    const pings = target.count('/ping');
    const handle = await startRun(
      client,
      mainQueue,
      definition(unique('waits')),
      {},
      { connector_queues: { postgres: later } },
    );
    const pending = await until('the routed call to be scheduled', async () =>
      ((await handle.describe()).raw.pendingActivities ?? []).find((p) => p.activityType?.name === 'runConnector'),
    );
    // Scheduled, not started: nobody polls its queue (the main worker serves only the run queue).
    assert.equal(String(pending?.state), '1', `PENDING_ACTIVITY_STATE_SCHEDULED, got ${String(pending?.state)}`);
    assert.equal((await runState(handle)).nodes.query?.status, 'running');
    assert.equal(target.count('/ping'), pings, 'the node after it has not run');

    const worker = pool().spawn(['--queues', later]);
    const result = (await handle.result()) as { row: { rows: Array<{ answer: number }> } };
    assert.equal(result.row.rows[0]?.answer, 42);
    const postgres = (await connectorCalls(handle)).find((c) => c.connector === 'postgres');
    assert.equal(postgres?.queue, later);
    assert.deepEqual(
      postgres.identities.map((who) => who.startsWith(`${worker.pid}@`)),
      [true],
      'one attempt, on the pool worker that started late',
    );
  });

  test('the table is carried across continue-as-new and inherited by child runs', async () => {
    const heavy = unique('queues-carried');
    const worker = pool().spawn(['--queues', heavy]);
    const routedTo = (calls: Call[]) => calls.filter((c) => c.connector === 'postgres').map((c) => c.queue);
    const pid = `${worker.pid}@`;

    // The http call fills the first execution's history past 5 events; the run continues as new
    // while it waits on the timer (nothing in flight), so the postgres call is in the second one.
    const handle = await startRun(
      client,
      mainQueue,
      {
        id: unique('carried'),
        nodes: [
          { id: 'ping', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/ping` } },
          { id: 'pause', type: 'wait', duration: '1s' },
          { id: 'query', type: 'task', connector: 'postgres', action: 'query', inputs: { sql: 'SELECT 1 AS one' } },
        ],
        edges: [
          { from: 'ping', to: 'pause' },
          { from: 'pause', to: 'query' },
        ],
      },
      {},
      { connector_queues: { postgres: heavy }, continue_as_new_after: 5 },
    );
    await handle.result();
    const chain = await executions(client, handle);
    assert.ok(chain.length >= 2, `the run continued as new (${chain.length} execution)`);
    const last = client.workflow.getHandle(handle.workflowId);
    const after = await connectorCalls(last);
    assert.deepEqual(routedTo(after), [heavy], 'the postgres call after continue-as-new went to the pool');
    assert.ok(after.find((c) => c.connector === 'postgres')?.identities.every((who) => who.startsWith(pid)));

    const parent = await startRun(
      client,
      mainQueue,
      {
        id: unique('parent'),
        nodes: [{ id: 'kid', type: 'subworkflow', definition: childDefinition.id, inputs: {}, output: 'kid' }],
        edges: [],
      },
      {},
      { connector_queues: { postgres: heavy } },
    );
    await parent.result();
    const started = ((await parent.fetchHistory()).events ?? []).find(
      (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
    )?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    assert.ok(started, 'the parent started a child');
    const child = await connectorCalls(client.workflow.getHandle(started));
    assert.deepEqual(routedTo(child), [heavy], "the child's postgres call went to the parent's pool");
    assert.ok(child[0]?.identities.every((who) => who.startsWith(pid)));
  });

  test('an ai node routed with "ai" runs its model call (runAi) on the pool worker that has the model settings', async () => {
    const aiPool = unique('queues-ai');
    const fake = await startFakeOpenAi();
    // The main worker has no AI settings: only the pool's worker can answer this call.
    const aiWorker = await startWorker({
      address: temporalAddress(),
      namespace: NAMESPACE,
      taskQueue: aiPool,
      activitiesOnly: true,
      activityDeps: { ai: { baseURL: fake.url, apiKey: fake.apiKey, models: { fast: 'gpt-test-mini' } } },
    });
    try {
      fake.enqueue({ json: { label: 'bug' } });
      const handle = await startRun(
        client,
        mainQueue,
        {
          id: unique('routed-ai'),
          nodes: [
            {
              id: 'label',
              type: 'ai',
              model: 'fast',
              prompt_template: 'Label: it crashes',
              output_mapping: {
                type: 'object',
                properties: { label: { type: 'string' } },
                required: ['label'],
                additionalProperties: false,
              },
              output: 'label',
            },
          ],
          edges: [],
        },
        {},
        { connector_queues: { ai: aiPool, postgres: 'nobody-serves-this' } },
      );
      assert.deepEqual(await handle.result(), { label: { label: 'bug' } });
      const events = (await handle.fetchHistory()).events ?? [];
      const scheduled = events.flatMap((e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAi'
          ? [e.activityTaskScheduledEventAttributes.taskQueue?.name]
          : [],
      );
      assert.deepEqual(scheduled, [aiPool]);
      assert.equal(fake.requests.length, 1);
    } finally {
      await aiWorker.shutdown();
      await fake.close();
    }
  });

  test('a worker given a bad --queues stops at once, naming the entry', async () => {
    const worker = spawn(process.execPath, [workerScript, '--queues', 'ok,ok'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(worker, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(stderr, /--queues: entry "ok": listed twice/);
  });
});
