/**
 * Workers as separate processes (`dist/src/cli/worker.js`), for tests that kill one mid-run and
 * start another: each pool has its own task queue and data dir, and kills what is left at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NAMESPACE, temporalAddress } from './temporal.js';

const workerScript = fileURLToPath(new URL('../../src/cli/worker.js', import.meta.url));

export interface WorkerProcesses {
  /** A worker with these command-line arguments (`--queues …`). */
  spawn(args?: string[]): ChildProcess;
  /** kill -9 of `worker`, `meanwhile` once it is dead, then a new worker in its place. */
  killAndReplace(worker: ChildProcess, meanwhile?: () => void): Promise<ChildProcess>;
  /** Kills every worker still running and removes the data dir. */
  cleanup(): void;
}

/** `stdout: 'pipe'` hands the workers' log lines (JSON) to the test on `child.stdout`. */
export function workerProcesses(
  taskQueue: string,
  env: Record<string, string> = {},
  stdout: 'inherit' | 'pipe' = 'inherit',
): WorkerProcesses {
  // The worker opens the definition store; keep it out of the working tree.
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-worker-'));
  const children: ChildProcess[] = [];
  return {
    spawn(args = []) {
      const child = spawn(process.execPath, [workerScript, ...args], {
        env: {
          ...process.env,
          // A caller with a Temporal server of its own (the chaos harness) names it in `env`.
          TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS ?? temporalAddress(),
          TEMPORAL_NAMESPACE: NAMESPACE,
          TEMPORAL_TASK_QUEUE: taskQueue,
          WEFT_DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
          ...env,
        },
        stdio: ['ignore', stdout, 'inherit'],
      });
      children.push(child);
      return child;
    },
    async killAndReplace(worker, meanwhile) {
      const exited = once(worker, 'exit');
      worker.kill('SIGKILL');
      await exited;
      meanwhile?.();
      return this.spawn();
    },
    cleanup() {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Resolves once a worker spawned with `stdout: 'pipe'` and `LOG_LEVEL` info or lower logs
 * "worker running" (`Worker.create` returned and it polls); rejects if it exits first. Its
 * later lines are read and dropped, so a full pipe never blocks it.
 */
export function workerRunning(child: ChildProcess): Promise<void> {
  if (!child.stdout) return Promise.reject(new Error('the worker was spawned without a piped stdout'));
  const stdout = child.stdout;
  return new Promise<void>((resolve, reject) => {
    const exited = (code: number | null, signal: string | null) =>
      reject(new Error(`the worker exited (${code ?? signal}) before it was running`));
    child.once('exit', exited);
    createInterface({ input: stdout }).on('line', (line) => {
      if (!line.includes('"msg":"worker running"')) return;
      child.off('exit', exited);
      resolve();
    });
  });
}
