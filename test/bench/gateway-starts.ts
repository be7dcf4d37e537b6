/**
 * Run starts through the gateway against bare `client.workflow.start` calls of the same
 * workflow, side by side on one dev server: `c` concurrent clients (1, 8, 32, 64) each start
 * runs one after another until `c × BENCH_GATEWAY_STARTS_PER_CLIENT` have started. The gateway
 * is a real process (`node dist/src/cli/gateway.js`, SQLite store, audit log on) on a task queue
 * no worker polls, so only the start path is measured, not the runs. Each side reports p50/p99
 * latency and starts/s; the overhead is the gateway's wall time over the bare client's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { freePort } from '../../src/temporal/dev-server.js';
import { DefinitionIdKey, DefinitionVersionKey, TenantKey } from '../../src/shared/search-attributes.js';
import { versioned } from '../support/runs.js';
import { unique } from '../support/temporal.js';
import { untilTrue } from '../support/poll.js';

export const CONCURRENCY = [1, 8, 32, 64];
const PER_CLIENT = Number(process.env.BENCH_GATEWAY_STARTS_PER_CLIENT ?? 10);
const gatewayScript = fileURLToPath(
  new URL(process.env.BENCH_GATEWAY_SCRIPT ?? '../../src/cli/gateway.js', import.meta.url),
);

export interface Side {
  p50: number;
  p99: number;
  perSecond: number;
  wallMs: number;
}
export interface GatewayStartRow {
  clients: number;
  starts: number;
  gateway: Side;
  bare: Side;
}

const rank = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/** `clients` loops starting runs until `total` have started; the latency of each and the wall time. */
async function drive(clients: number, total: number, startOne: () => Promise<void>): Promise<Side> {
  const latencies: number[] = [];
  let left = total;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left > 0) {
        left -= 1;
        const s = performance.now();
        await startOne();
        latencies.push(performance.now() - s);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { p50: rank(latencies, 50), p99: rank(latencies, 99), perSecond: (total / wallMs) * 1000, wallMs };
}

export async function gatewayStartsBench(
  address: string,
  client: Client,
  log: (m: string) => void,
): Promise<GatewayStartRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-gateway-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const taskQueue = unique('bench-gw-idle');
  const gateway: ChildProcess = spawn(process.execPath, [gatewayScript], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'definitions.db')}`,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      // Thousands of runs stay open (no worker): the default concurrent_runs quota would refuse them.
      WEFT_QUOTA_CONCURRENT_RUNS: '1000000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await untilTrue('the bench gateway to become ready', async () => (await fetch(`${base}/readyz`)).ok, 180_000, 100);
    const raw = { id: 'bench-start', nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }] };
    const submitted = await fetch(`${base}/v1/definitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(raw),
    });
    if (submitted.status !== 201) throw new Error(`submit: ${submitted.status} ${await submitted.text()}`);
    const definition = versioned(raw);
    const viaGateway = async () => {
      const response = await fetch(`${base}/v1/definitions/bench-start/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (response.status !== 201) throw new Error(`start: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    };
    const bare = async () => {
      await client.workflow.start('interpret', {
        taskQueue,
        workflowId: `bench-start-${unique('bare')}`,
        args: [{ definition, input: {} }],
        memo: { definition_id: definition.id, definition_version: definition.version },
        typedSearchAttributes: [
          { key: DefinitionIdKey, value: definition.id },
          { key: DefinitionVersionKey, value: definition.version },
          { key: TenantKey, value: 'default' },
        ],
      });
    };
    await drive(4, 20, viaGateway); // warm-up: connections, JIT, the first visibility count
    await drive(4, 20, bare);
    const rows: GatewayStartRow[] = [];
    for (const clients of CONCURRENCY) {
      const starts = Math.max(40, clients * PER_CLIENT);
      // Two rounds in alternating order so drift on a shared machine favours neither side; the faster kept.
      const g1 = await drive(clients, starts, viaGateway);
      const b1 = await drive(clients, starts, bare);
      const b2 = await drive(clients, starts, bare);
      const g2 = await drive(clients, starts, viaGateway);
      const best = (a: Side, b: Side) => (a.wallMs <= b.wallMs ? a : b);
      rows.push({ clients, starts, gateway: best(g1, g2), bare: best(b1, b2) });
      log(`gateway starts at ${clients} clients: done`);
    }
    return rows;
  } finally {
    const exited = once(gateway, 'exit');
    gateway.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export function gatewayStartLines(rows: GatewayStartRow[]): string[] {
  if (rows.length === 0) return [];
  const f = (n: number, d = 0) => n.toFixed(d);
  return [
    'Run starts through the gateway vs bare `client.workflow.start` (same workflow, no worker polling):',
    '',
    '| clients | starts | gateway p50 ms | gateway p99 ms | bare p50 ms | bare p99 ms | gateway starts/s | bare starts/s | overhead (wall ratio) |',
    '| --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.clients} | ${r.starts} | ${f(r.gateway.p50, 1)} | ${f(r.gateway.p99, 1)} | ${f(r.bare.p50, 1)} | ${f(r.bare.p99, 1)} | ${f(r.gateway.perSecond, 1)} | ${f(r.bare.perSecond, 1)} | ${f(r.gateway.wallMs / r.bare.wallMs, 2)} |`,
    ),
  ];
}
