/**
 * Gateways as separate processes (`dist/src/cli/gateway.js`), for tests that kill one with
 * SIGKILL and start another on the same store and port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until } from './poll.js';

const gatewayScript = fileURLToPath(new URL('../../src/cli/gateway.js', import.meta.url));

/**
 * A gateway process with these configuration variables over this process's environment. Its log
 * lines (stdout) go to this process's stdout, or with `logs: 'stderr'` to its stderr (for a
 * caller whose own stdout is its result).
 */
export function spawnGateway(env: Record<string, string>, logs: 'stdout' | 'stderr' = 'stdout'): ChildProcess {
  return spawn(process.execPath, [gatewayScript], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', logs === 'stdout' ? 'inherit' : process.stderr, 'inherit'],
  });
}

/** Waits until the gateway at `base` answers `path` (`/healthz`, or `/readyz`: Temporal and the store reachable) with 200. */
export function gatewayAnswers(base: string, path = '/healthz', timeoutMs?: number): Promise<true> {
  return until(
    `the gateway at ${base} to answer ${path}`,
    async () => ((await fetch(`${base}${path}`)).status === 200 ? true : undefined),
    timeoutMs,
  );
}
