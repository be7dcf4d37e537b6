/**
 * A real gateway for end-to-end tests: in-process HTTP server on a free port, its own store
 * (a SQLite file, or a PostgreSQL database of its own), its own task queue and worker, against
 * the suite's Temporal server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AiConfig } from '../../activities/ai-config.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import { storeConnectionSource } from '../../src/connections/connection-source.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { allowEgress } from './egress.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { NAMESPACE, startTestWorker, temporalAddress, unique } from './temporal.js';

/** The definition stores the gateway supports; e2e files that matter for storage run on each. */
export const STORES = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

export interface TestStackOptions {
  /** Start a worker on the stack's task queue (default true). */
  worker?: boolean;
  /** Which definition store the gateway uses (default sqlite). */
  store?: StoreKind;
  /** Extra configuration variables for the gateway. */
  env?: Record<string, string>;
  /** The worker's own AI endpoint (`OPENAI_BASE_URL`, …), such as a fake OpenAI server's. */
  ai?: AiConfig;
  /**
   * Where the gateway's (and the worker's) log lines go, at level info, for the test to scan;
   * absent: they log nothing.
   */
  logs?: string[];
}

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

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  const database: TestDatabase | undefined = options.store === 'postgres' ? await createTestDatabase() : undefined;
  const config = loadConfig({
    ...(database ? { DATABASE_URL: database.url } : {}),
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: unique('e2e'),
    PORT: '0',
    WEFT_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const logs = options.logs;
  const logger = (name: string) =>
    logs
      ? pino({ name, level: 'info' }, { write: (line: string) => void logs.push(line) })
      : createLogger(name, 'silent');
  const gateway = await startGateway(config, logger('gateway'));
  // As `npm start` does: definitions may ask the gateway whether it is healthy, and nothing else.
  const revokeEgress = allowEgress(`${gateway.url}/healthz`, `${gateway.url}/readyz`);
  // The worker reads definitions for subworkflow nodes from the gateway's store.
  const definitions = await openDefinitionStore(config.databaseUrl);
  const worker =
    options.worker === false
      ? undefined
      : await startTestWorker(config.taskQueue, {
          definitions,
          ...(logs ? { logger: logger('worker') } : {}),
          activityDeps: {
            connections: storeConnectionSource(definitions.connections, config.connectionKey),
            ...(options.ai ? { ai: options.ai } : {}),
          },
        });
  const call: TestStack['call'] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: the test sees the text and its assertion on the shape fails
    }
    return { status: response.status, body: parsed as any };
  };
  return {
    gateway,
    worker: worker as RunningWorker,
    config,
    call,
    async close() {
      await worker?.shutdown();
      revokeEgress();
      await definitions.close();
      await gateway.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One property of each item of a JSON array off the wire (`pluck(body.items, 'id')`). */
export function pluck(items: unknown, key: string): unknown[] {
  return (items as Array<Record<string, unknown>>).map((item) => item[key]);
}
