/**
 * Worker start-up: seconds from spawning `node dist/src/cli/worker.js` to its "worker running"
 * log line (written once `Worker.create` returned and `worker.run()` started polling), and to its
 * first poll as the server saw it (the task queue's pollers, `DescribeTaskQueue`, list the worker).
 * Each round is a fresh process on a task queue of its own (no warm caches but the OS's),
 * stopped once its first poll arrived.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerRunning } from '../support/worker-process.js';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { until } from '../support/poll.js';

const workerScript = fileURLToPath(new URL('../../src/cli/worker.js', import.meta.url));

export interface WorkerStart {
  /** Spawn to the "worker running" line. */
  running: number;
  /** Spawn to the server listing the worker as a poller of its workflow task queue. */
  firstPoll: number;
}

let round = 0;

/** One start: the seconds from spawning the worker to its "worker running" line and to its first poll. */
export async function workerStart(address: string, env: Record<string, string> = {}): Promise<WorkerStart> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-bench-worker-'));
  const taskQueue = `bench-start-${process.pid}-${round++}`;
  const connection = await Connection.connect({ address });
  const t0 = performance.now();
  const child = spawn(process.execPath, [workerScript], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WEFT_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    const running = workerRunning(child).then(() => (performance.now() - t0) / 1000);
    running.catch(() => undefined);
    const firstPoll = await until(
      'the worker to poll its task queue',
      async () => {
        // The worker died: fail at once, with its reason.
        if (exited) await running.catch((err: unknown) => assert.fail(`the worker died: ${String(err)}`));
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return (pollers ?? []).length > 0 ? (performance.now() - t0) / 1000 : undefined;
      },
      600_000,
      25,
    );
    return { running: await running, firstPoll };
  } finally {
    const gone = new Promise((r) => (exited ? r(undefined) : child.once('exit', r)));
    child.kill('SIGTERM');
    await gone;
    await connection.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `rounds` starts one after another. */
export async function workerStarts(
  address: string,
  rounds: number,
  env: Record<string, string> = {},
): Promise<WorkerStart[]> {
  const starts: WorkerStart[] = [];
  for (let i = 0; i < rounds; i++) starts.push(await workerStart(address, env));
  return starts;
}
