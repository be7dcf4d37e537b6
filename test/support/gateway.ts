/**
 * A real gateway for end-to-end tests: in-process HTTP server on a free port, its own SQLite
 * file, its own task queue and worker, against the suite's Temporal server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { NAMESPACE, startTestWorker, temporalAddress, unique } from './temporal.js';

export interface TestStack {
  gateway: RunningGateway;
  worker: RunningWorker;
  config: Config;
  /** JSON request helper: returns status and parsed body. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startTestStack(
  options: { worker?: boolean; env?: Record<string, string> } = {},
): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  const config = loadConfig({
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: unique('e2e'),
    PORT: '0',
    WEFT_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const gateway = await startGateway(config, createLogger('gateway', 'silent'));
  const definitions = await Promise.resolve(openDefinitionStore(config.databaseUrl));
  const worker = options.worker === false ? undefined : await startTestWorker(config.taskQueue, { definitions });
  const call: TestStack['call'] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  return {
    gateway,
    worker: worker as RunningWorker,
    config,
    call,
    async close() {
      await worker?.shutdown();
      await definitions.close();
      await gateway.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
