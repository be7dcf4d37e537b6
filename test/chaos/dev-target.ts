/**
 * The chaos harness's dev-server target: the Temporal CLI's dev server as its own process on a
 * SQLite file (so a kill -9 and a restart on the same file and port keep every run), N workers
 * and M gateways as processes, all on one PostgreSQL definition store of its own (so the
 * `postgres` fault terminates real backends of weft's store).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeFixedPort, protectServer, startDevServer, type TemporalServer } from '../../src/temporal/dev-server.js';
import { gatewayAnswers, spawnGateway } from '../support/gateway-process.js';
import { POSTGRES_ADMIN_URL, createTestDatabase } from '../support/postgres.js';
import { until } from '../support/poll.js';
import { workerProcesses, workerRunning } from '../support/worker-process.js';
import type { ChaosTarget, ManagedProcess } from './target.js';

export interface DevTargetOptions {
  workers: number;
  gateways: number;
  /** `host:port` entries the workers' egress policy allows (the harness's HTTP target). */
  egressAllow: string[];
  log: (message: string) => void;
}

const NAMESPACE = 'default';
/** How long a restarted process may take to be ready on a slow, shared machine. */
const READY_MS = 180_000;

/** SIGKILL of a child, resolved once it has exited (at once if it already had). */
async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

export async function startDevTarget(options: DevTargetOptions): Promise<ChaosTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-chaos-'));
  const database = await createTestDatabase();
  // Below the ephemeral range: the clients keep connecting while a server is down (freeFixedPort).
  const [port, httpPort, metricsPort] = [await freeFixedPort(), await freeFixedPort(), await freeFixedPort()];
  let server: TemporalServer | undefined;
  const startServer = () =>
    startDevServer({ port, httpPort, metricsPort, headless: true, dbFile: join(dir, 'temporal.db'), log: () => {} });

  const devServer: ManagedProcess = {
    role: 'dev-server',
    name: 'dev-server',
    // The dev server's child process is not exposed by `startDevServer`.
    pid: () => undefined,
    async kill() {
      await server?.kill?.();
      server = undefined;
    },
    async start() {
      // Right after a kill the port or the SQLite file may still be held for a moment.
      server = await until(
        'the dev server to start on its port and file',
        () => startServer().catch(() => undefined),
        READY_MS,
        1_000,
      );
    },
  };
  await devServer.start();
  const first = server;
  if (!first) throw new Error('the dev server did not start');
  if (!first.kill)
    throw new Error('the dev server was not started from the Temporal CLI binary, so it cannot be killed');
  const address = first.address;
  const taskQueue = `chaos-${port}`;
  const common = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: database.url,
    WEFT_EGRESS_PROTECT: protectServer(first, process.env.WEFT_EGRESS_PROTECT),
  };

  const pool = workerProcesses(
    taskQueue,
    { ...common, LOG_LEVEL: 'info', WEFT_EGRESS_ALLOW: options.egressAllow.join(',') },
    'pipe',
  );
  const workers = Array.from({ length: options.workers }, (_, i): ManagedProcess => {
    let child: ChildProcess | undefined;
    return {
      role: 'worker',
      name: `worker-${i + 1}`,
      pid: () => child?.pid,
      kill: () => killChild(child),
      async start() {
        child = pool.spawn();
        await workerRunning(child);
      },
    };
  });

  const gatewayUrls: string[] = [];
  const gateways: ManagedProcess[] = [];
  const gatewayChildren: Array<ChildProcess | undefined> = [];
  for (let i = 0; i < options.gateways; i++) {
    const gatewayPort = await freeFixedPort();
    const base = `http://127.0.0.1:${gatewayPort}`;
    const dataDir = join(dir, `gateway-${i + 1}`);
    mkdirSync(dataDir);
    gatewayUrls.push(base);
    gateways.push({
      role: 'gateway',
      name: `gateway-${i + 1}`,
      pid: () => gatewayChildren[i]?.pid,
      kill: () => killChild(gatewayChildren[i]),
      async start() {
        const child = spawnGateway(
          {
            ...common,
            PORT: String(gatewayPort),
            WEFT_DATA_DIR: dataDir,
            LOG_LEVEL: 'error',
          },
          'stderr',
        );
        gatewayChildren[i] = child;
        const exited = once(child, 'exit').then(() => {
          throw new Error(`gateway-${i + 1} exited before it was ready`);
        });
        exited.catch(() => undefined);
        await Promise.race([gatewayAnswers(base, '/readyz', READY_MS), exited]);
      },
    });
  }
  // One gateway first: it runs the store's migrations, the others then find them done.
  await gateways[0]?.start();
  await Promise.all([...workers, ...gateways.slice(1)].map((p) => p.start()));
  options.log(
    `dev target: Temporal ${address} (SQLite ${join(dir, 'temporal.db')}), ${workers.length} workers, gateways ${gatewayUrls.join(' ')}, store ${database.name}`,
  );

  return {
    temporalAddress: address,
    namespace: NAMESPACE,
    gateways: gatewayUrls,
    processes: [devServer, ...workers, ...gateways],
    postgres: { connectionString: POSTGRES_ADMIN_URL, databases: [database.name] },
    async close() {
      await Promise.all(gatewayChildren.map(killChild));
      await Promise.all(workers.map((w) => w.kill()));
      pool.cleanup();
      await server?.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
