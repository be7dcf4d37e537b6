/**
 * Worker start-up: seconds from spawning `node dist/src/cli/worker.js` to its "worker running"
 * log line, which it writes once `Worker.create` returned and `worker.run()` started polling.
 * Each round is a fresh process (no warm caches but the OS's), stopped once it is running.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerRunning } from '../support/worker-process.js';

const workerScript = fileURLToPath(new URL('../../src/cli/worker.js', import.meta.url));

/** One start: the seconds from spawning the worker to its "worker running" line. */
export async function workerStart(address: string, env: Record<string, string> = {}): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-bench-worker-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [workerScript], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: 'bench-start',
      WEFT_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await workerRunning(child);
    return (performance.now() - t0) / 1000;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `rounds` starts one after another. */
export async function workerStarts(address: string, rounds: number, env: Record<string, string> = {}) {
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round++) seconds.push(await workerStart(address, env));
  return seconds;
}
