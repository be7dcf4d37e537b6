/**
 * `options.max_concurrent_runs` on the real dev server, through crashes: a kill -9 of the worker
 * while runs hold and queue for run permits loses none (every run completes, one key never had two
 * runs calling at once, no permit is left held), and a run terminated while it holds its permit
 * (no release) has it taken back by the run limiter's holder check, by workflow id.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError, type Client, type Connection, type WorkflowHandle } from '@temporalio/client';
import { limiterWorkflowId } from '../../activities/limiter.js';
import { RUN_PERMIT } from '../../interpreter/run-limits.js';
import { DEFAULT_TENANT } from '../../src/shared/tenants.js';
import type { LimiterView } from '../../workflows/limiter.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { until } from '../support/poll.js';
import { orderDefinition } from '../support/definitions.js';
import { startRun } from '../support/runs.js';
import { connectClient, unique } from '../support/temporal.js';
import { workerProcesses } from '../support/worker-process.js';

let target: HttpTarget;
let client: Client;
let connection: Connection;
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();
let held: { res: ServerResponse; order: string }[] = [];
/** While false the target answers at once (after the crash). */
let holding = true;

before(async () => {
  target = await startHttpTarget({
    '/orders': (req, res) => {
      const order = req.query.order ?? '';
      const now = (inFlight.get(order) ?? 0) + 1;
      inFlight.set(order, now);
      maxInFlight.set(order, Math.max(now, maxInFlight.get(order) ?? 0));
      // The call ends however it ends: answered, or its worker died (the socket closes).
      res.on('close', () => inFlight.set(order, (inFlight.get(order) ?? 1) - 1));
      if (holding) held.push({ res, order });
      else json(res, 200, { order });
    },
  });
  ({ client, connection } = await connectClient());
});
after(async () => {
  for (const h of held) h.res.destroy();
  await connection?.close();
  await target?.close();
});

// A short timeout: the calls the dead worker started are retried by the next one.
const definition = (id: string) =>
  orderDefinition(
    id,
    `${target.url}/orders`,
    { max_concurrent_runs: 1, concurrency_key: 'input.order_id' },
    { timeout: '5s', retry_policy: { initial_interval: '200ms', max_interval: '1s' } },
  );

async function runLimiter(taskQueue: string, definitionId: string, key: string): Promise<LimiterView | undefined> {
  const id = limiterWorkflowId(DEFAULT_TENANT, taskQueue, definitionId, RUN_PERMIT, key);
  try {
    return await client.workflow.getHandle(id).query<LimiterView>('limiter');
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
const limiterEmpty = async (taskQueue: string, definitionId: string, key: string) => {
  const view = await runLimiter(taskQueue, definitionId, key);
  return view === undefined || (view.holders.length === 0 && view.queue.length === 0) ? true : undefined;
};

describe('run permits across crashes', () => {
  const taskQueue = unique('run-limits-kill');
  const workers = workerProcesses(taskQueue);
  after(() => workers.cleanup());

  test('kill -9 of the worker while runs hold and queue for run permits: all complete, one run per key at a time, no permit left', async () => {
    const id = unique('run-crash');
    const keys = [`${id}-a`, `${id}-b`];
    const first = workers.spawn();
    const handles: WorkflowHandle[] = [];
    for (let i = 0; i < 10; i++) {
      const order = keys[i % 2] as string;
      handles.push(await startRun(client, taskQueue, definition(id), { order_id: order }));
    }
    await until('one held call per key', () => Promise.resolve(held.length === 2 ? true : undefined));
    await until('four runs of each key in line', async () => {
      const views = await Promise.all(keys.map((key) => runLimiter(taskQueue, id, key)));
      return views.every((v) => v?.holders.length === 1 && v.queue.length === 4) ? true : undefined;
    });
    await workers.killAndReplace(first, () => {
      for (const h of held.splice(0)) h.res.destroy();
      holding = false;
    });
    const results = await Promise.all(handles.map((h) => h.result()));
    for (const result of results) assert.equal((result as { answer: { status: number } }).answer.status, 200);
    for (const key of keys) assert.equal(maxInFlight.get(key), 1, `one run of ${key} calling at a time`);
    for (const key of keys) await until(`no permit of ${key} held`, () => limiterEmpty(taskQueue, id, key));
  });

  test('a run terminated while it holds its permit has it taken back: the next run of its key goes on', async () => {
    holding = true;
    held = [];
    const id = unique('run-terminate');
    const order = `${id}-x`;
    const holder = await startRun(client, taskQueue, definition(id), { order_id: order });
    await until('the holder calls', () => Promise.resolve(held.length === 1 ? true : undefined));
    const next = await startRun(client, taskQueue, definition(id), { order_id: order });
    await until('the next run in line', async () =>
      (await runLimiter(taskQueue, id, order))?.queue.length === 1 ? true : undefined,
    );
    await holder.terminate('test: a run that closes without releasing');
    for (const h of held.splice(0)) json(h.res, 200, {});
    holding = false;
    const result = (await next.result()) as { answer: { status: number } };
    assert.equal(result.answer.status, 200);
    await until('no permit held', () => limiterEmpty(taskQueue, id, order));
  });
});
