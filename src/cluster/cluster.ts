/**
 * The production topology on one machine: Temporal Server v1.29.1 on PostgreSQL as separate
 * processes (frontend, history, matching, internal worker; `deploy/temporal/`), the Web UI when
 * it could be built, then N weft workers and M gateways on the PostgreSQL definition store.
 * `npm run cluster` (src/cli/cluster.ts) runs it in the foreground; the chaos harness kills and
 * restarts its processes through `ManagedProcess`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import pg from 'pg';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { resolveGoBinary, waitReady, type GoBinary } from '../temporal/dev-server.js';

/** The server inside the pinned CLI (v1.5.1); its module has no `replace` directive, so `go install` builds it. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** The Web UI inside the same CLI. */
export const TEMPORAL_UI_VERSION = 'v2.42.1';

export const TEMPORAL_SERVER: GoBinary = {
  label: 'the Temporal server',
  envVar: 'WEFT_TEMPORAL_SERVER_PATH',
  pathName: 'temporal-server',
  module: 'go.temporal.io/server/cmd/server',
  version: TEMPORAL_SERVER_VERSION,
  cacheDir: 'temporal-server',
  cachedName: 'temporal-server',
};

export const TEMPORAL_SQL_TOOL: GoBinary = {
  label: "the Temporal server's SQL schema tool",
  envVar: 'WEFT_TEMPORAL_SQL_TOOL_PATH',
  pathName: 'temporal-sql-tool',
  module: 'go.temporal.io/server/cmd/tools/sql',
  version: TEMPORAL_SERVER_VERSION,
  cacheDir: 'temporal-server',
  cachedName: 'temporal-sql-tool',
};

export const TEMPORAL_UI_SERVER: GoBinary = {
  label: 'the Temporal Web UI server',
  envVar: 'WEFT_TEMPORAL_UI_PATH',
  pathName: 'temporal-ui-server',
  module: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: TEMPORAL_UI_VERSION,
  cacheDir: 'temporal-ui',
  cachedName: 'temporal-ui-server',
};

export interface ManagedProcess {
  role: 'frontend' | 'history' | 'matching' | 'internal-worker' | 'worker' | 'gateway' | 'ui';
  /** e.g. 'worker-1', 'gateway-2', 'history' */
  name: string;
  pid(): number | undefined;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** (Re)start and wait until ready (health/poll). */
  start(): Promise<void>;
}

export interface Cluster {
  /** The frontend's host:port. */
  temporalAddress: string;
  namespace: string;
  /** Base URLs, e.g. http://127.0.0.1:8080 */
  gateways: string[];
  processes: ManagedProcess[];
  /** Temporal's two databases and weft's store database, all on this server. */
  postgres: { connectionString: string; databases: string[] };
  /** The Web UI's base URL, when it was started. */
  uiUrl?: string;
  /** Where each process writes its output (`<name>.log`). */
  logDir: string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** weft workers (default 2). */
  workers?: number;
  /** Gateways (default 2), on `gatewayPort`, `gatewayPort + 1`, … */
  gateways?: number;
  /** The frontend's gRPC port and the base of Temporal's other ports (default 7233; layout in deploy/temporal/config). */
  basePort?: number;
  /** The first gateway's port (default 8080). */
  gatewayPort?: number;
  /** The Web UI's port (default `basePort + 1000`); `false`: no UI. */
  uiPort?: number | false;
  /** A PostgreSQL URL whose user may create databases (default postgres://postgres@127.0.0.1:5432/postgres). */
  postgresUrl?: string;
  /** Put before every database name (`<prefix>temporal`, `<prefix>temporal_visibility`, `<prefix>weft`), so stacks can share one PostgreSQL. */
  databasePrefix?: string;
  /** Namespace of the runs (default `TEMPORAL_NAMESPACE` or `default`). */
  namespace?: string;
  /** Logs and the workers' data dir (default `<WEFT_DATA_DIR>/cluster-<basePort>`). */
  dataDir?: string;
  /** Environment of the workers and gateways (default this process's). */
  env?: NodeJS.ProcessEnv;
  log?: (m: string) => void;
}

type Role = ManagedProcess['role'];
type Log = (m: string) => void;

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const scripts = fileURLToPath(new URL('../cli/', import.meta.url));

/** The offsets of deploy/temporal/config/weft-cluster.yaml, from the frontend's port. */
export function temporalPorts(base: number) {
  return {
    frontend: base,
    history: base + 1,
    matching: base + 2,
    worker: base + 6,
    http: base + 10,
    membership: { frontend: base - 300, history: base - 299, matching: base - 298, worker: base - 294 },
    metrics: { frontend: base + 767, history: base + 768, matching: base + 769, worker: base + 773 },
  };
}

/** Temporal's `persistence.ServiceType` of each role, as the cluster_membership table holds it. */
const MEMBERSHIP_ROLE = { frontend: 1, history: 2, matching: 3, worker: 4 } as const;

/** The gRPC health service names the history and matching services report (service/*\/handler.go). */
const HEALTH_SERVICE = {
  frontend: 'temporal.api.workflowservice.v1.WorkflowService',
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
} as const;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true (errors count as "not yet"), the process dies or the deadline passes. */
async function pollReady(what: string, probe: () => Promise<boolean>, alive: () => boolean, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not ready';
  for (;;) {
    if (!alive()) throw new Error(`${what} exited while starting`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${lastError}`);
    await delay(250);
  }
}

async function withPg<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates `database` if it is missing (names are checked: they come from options). */
async function ensureDatabase(serverUrl: string, database: string): Promise<boolean> {
  if (!SQL_NAME.test(database)) throw new Error(`database name "${database}": expected [a-z_][a-z0-9_]*`);
  return withPg(serverUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE ${database}`);
    return true;
  });
}

/**
 * Temporal's schemas with its own tool: the versioning tables once (`setup-schema -v 0.0`), then
 * `update-schema` to the newest version embedded in the tool (a no-op when already there), so an
 * upgraded server upgrades its schema the supported way.
 */
async function setupSchemas(
  sqlTool: string,
  serverUrl: string,
  databases: { temporal: string; visibility: string },
  log: Log,
) {
  const url = new URL(serverUrl);
  const connection = [
    '--plugin',
    'postgres12',
    '--endpoint',
    url.hostname,
    '--port',
    url.port || '5432',
    '--user',
    decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? ['--password', decodeURIComponent(url.password)] : []),
  ];
  for (const [database, schema] of [
    [databases.temporal, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    if (await ensureDatabase(serverUrl, database)) log(`created database ${database}`);
    const versioned = await withPg(databaseUrl(serverUrl, database), async (client) => {
      const table = await client.query("SELECT to_regclass('public.schema_version') AS t");
      return (table.rows[0] as { t: string | null }).t !== null;
    });
    const run = (args: string[]) => {
      const result = spawnSync(sqlTool, [...connection, '--database', database, ...args], { encoding: 'utf8' });
      if (result.status !== 0)
        throw new Error(
          `temporal-sql-tool ${args[0]} on ${database} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`,
        );
    };
    if (!versioned) run(['setup-schema', '-v', '0.0']);
    run(['update-schema', '--schema-name', schema]);
  }
}

interface Spec {
  role: Role;
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Resolves once the process serves; `since` is when it was spawned. */
  ready(child: ChildProcess, since: number, output: () => string): Promise<void>;
}

class Managed implements ManagedProcess {
  readonly role: Role;
  readonly name: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private tail = '';
  private readonly logFile: WriteStream;
  /** Children we are stopping ourselves: their exit is not reported. */
  private readonly stopping = new WeakSet<ChildProcess>();

  constructor(
    private readonly spec: Spec,
    logDir: string,
    private readonly onUnexpectedExit: (process: Managed, code: number | null, signal: string | null) => void,
  ) {
    this.role = spec.role;
    this.name = spec.name;
    this.logFile = createWriteStream(join(logDir, `${spec.name}.log`), { flags: 'a' });
  }

  pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running()) return;
    const since = Date.now();
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: repoRoot,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.tail = '';
    const keep = (chunk: Buffer) => {
      this.logFile.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-8_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.stopping.has(child)) this.onUnexpectedExit(this, code, signal);
        resolve();
      }),
    );
    try {
      await this.spec.ready(child, since, () => this.tail);
    } catch (err) {
      await this.stopChild('SIGKILL');
      throw new Error(`${this.name}: ${(err as Error).message}\n--- ${this.name} output ---\n${this.tail}`, {
        cause: err,
      });
    }
  }

  private async stopChild(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    this.stopping.add(child);
    child.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    if (timer) clearTimeout(timer);
  }

  kill(): Promise<void> {
    return this.stopChild('SIGKILL');
  }

  /** SIGTERM (a clean shutdown), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    await this.stopChild('SIGTERM');
    await new Promise<void>((resolve) => this.logFile.end(resolve));
  }
}

/** Waits for the service's gRPC health check to answer SERVING. */
function healthy(address: string, service: string): () => Promise<boolean> {
  return async () => {
    const connection = Connection.lazy({ address, connectTimeout: 1_000 });
    try {
      const answer = await connection.healthService.check({ service });
      return answer.status === proto.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING;
    } finally {
      await connection.close();
    }
  };
}

/** The internal worker has no health service: it is ready once it joined the membership ring (a row of its own session). */
function joinedRing(
  temporalDbUrl: string,
  role: number,
  membershipPort: number,
  since: number,
): () => Promise<boolean> {
  return () =>
    withPg(temporalDbUrl, async (client) => {
      const rows = await client.query(
        'SELECT 1 FROM cluster_membership WHERE role = $1 AND rpc_port = $2 AND session_start >= $3::timestamp',
        [role, membershipPort, new Date(since - 5_000).toISOString()],
      );
      return (rows.rowCount ?? 0) > 0;
    });
}

/** Registers the namespace if missing (retention 3 days), then weft's search attributes, retrying while the services settle. */
async function prepareNamespace(address: string, namespace: string, log: Log): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch {
      log(`registering namespace ${namespace}`);
      await connection.workflowService
        .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') })
        .catch((err: unknown) => {
          // Another process registered it meanwhile.
          if (!/already exists/i.test(String(err))) throw err;
        });
    }
    let lastError: unknown;
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        // A new namespace reaches the frontend's and history's caches within ~10 s.
        await ensureSearchAttributes(connection, namespace);
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) throw new Error(`could not register the search attributes: ${String(lastError)}`);
      await delay(500);
    }
  } finally {
    await connection.close();
  }
}

function portList(values: Record<string, number>): string[] {
  return Object.values(values).map((port) => `127.0.0.1:${port}`);
}

/** Variables a plaintext cluster must not hand its workers and gateways. */
const STRIPPED = [
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_SERVER_NAME',
];

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[cluster] ${m}\n`));
  const env = options.env ?? process.env;
  const workerCount = options.workers ?? 2;
  const gatewayCount = options.gateways ?? 2;
  const base = options.basePort ?? 7233;
  const gatewayPort = options.gatewayPort ?? 8080;
  for (const [field, value, min, max] of [
    ['workers', workerCount, 0, 32],
    ['gateways', gatewayCount, 0, 32],
    ['basePort', base, 1024, 64000],
    ['gatewayPort', gatewayPort, 1024, 64000],
  ] as const) {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`${field}: expected an integer ${min} – ${max} (got ${value})`);
  }
  const uiPort = options.uiPort === false ? undefined : (options.uiPort ?? base + 1000);
  const namespace = options.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
  const serverUrl =
    options.postgresUrl ?? env.WEFT_CLUSTER_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const prefix = options.databasePrefix ?? env.WEFT_CLUSTER_DB_PREFIX ?? '';
  const databases = {
    temporal: `${prefix}temporal`,
    visibility: `${prefix}temporal_visibility`,
    store: `${prefix}weft`,
  };
  const dataDir = options.dataDir ?? join(env.WEFT_DATA_DIR ?? 'data', `cluster-${base}`);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const server = resolveGoBinary(TEMPORAL_SERVER, log, env);
  const sqlTool = resolveGoBinary(TEMPORAL_SQL_TOOL, log, env);
  if (!server || !sqlTool)
    throw new Error(
      'the Temporal server needs Go to be built (or WEFT_TEMPORAL_SERVER_PATH and WEFT_TEMPORAL_SQL_TOOL_PATH)',
    );
  log(`Temporal server ${TEMPORAL_SERVER_VERSION}: ${server.path} (${server.source})`);
  let ui: { path: string; source: string } | undefined;
  if (uiPort !== undefined) {
    try {
      ui = resolveGoBinary(TEMPORAL_UI_SERVER, log, env);
    } catch (err) {
      log(`no Web UI: ${(err as Error).message}`);
    }
    if (!ui) log('no Web UI: its server could not be built');
  }

  await setupSchemas(sqlTool.path, serverUrl, databases, log);
  if (await ensureDatabase(serverUrl, databases.store)) log(`created database ${databases.store}`);

  const ports = temporalPorts(base);
  const temporalAddress = `127.0.0.1:${ports.frontend}`;
  const pgUrl = new URL(serverUrl);
  const temporalEnv: NodeJS.ProcessEnv = {
    PATH: env.PATH,
    HOME: env.HOME,
    WEFT_TEMPORAL_PORT: String(base),
    WEFT_TEMPORAL_PG_HOST: pgUrl.hostname,
    WEFT_TEMPORAL_PG_PORT: pgUrl.port || '5432',
    WEFT_TEMPORAL_PG_USER: decodeURIComponent(pgUrl.username || 'postgres'),
    WEFT_TEMPORAL_PG_PASSWORD: decodeURIComponent(pgUrl.password),
    WEFT_TEMPORAL_DB: databases.temporal,
    WEFT_TEMPORAL_VISIBILITY_DB: databases.visibility,
    WEFT_TEMPORAL_DYNAMIC_CONFIG: join(repoRoot, 'deploy/temporal/dynamicconfig/weft.yaml'),
    ...(env.WEFT_TEMPORAL_LOG_LEVEL ? { WEFT_TEMPORAL_LOG_LEVEL: env.WEFT_TEMPORAL_LOG_LEVEL } : {}),
    ...(env.WEFT_TEMPORAL_HISTORY_SHARDS ? { WEFT_TEMPORAL_HISTORY_SHARDS: env.WEFT_TEMPORAL_HISTORY_SHARDS } : {}),
  };
  const temporalDbUrl = databaseUrl(serverUrl, databases.temporal);
  const gatewayUrls = Array.from({ length: gatewayCount }, (_, i) => `http://127.0.0.1:${gatewayPort + i}`);
  const uiUrl = ui && uiPort !== undefined ? `http://localhost:${uiPort}` : undefined;

  const processes: Managed[] = [];
  let closing = false;
  const onUnexpectedExit = (p: Managed, code: number | null, signal: string | null) => {
    if (!closing) log(`${p.name} exited (${signal ?? code}); see ${join(logDir, `${p.name}.log`)}`);
  };
  const add = (spec: Spec) => {
    const managed = new Managed(spec, logDir, onUnexpectedExit);
    processes.push(managed);
    return managed;
  };

  const services = [
    { role: 'frontend', service: 'frontend', key: 'frontend' },
    { role: 'history', service: 'history', key: 'history' },
    { role: 'matching', service: 'matching', key: 'matching' },
    { role: 'internal-worker', service: 'worker', key: 'worker' },
  ] as const;
  for (const { role, service, key } of services) {
    add({
      role,
      name: role,
      command: server.path,
      args: [
        '--root',
        repoRoot,
        '--config',
        'deploy/temporal/config',
        '--env',
        'weft-cluster',
        '--allow-no-auth',
        'start',
        '--service',
        service,
      ],
      env: { ...temporalEnv, WEFT_TEMPORAL_METRICS_PORT: String(ports.metrics[key]) },
      ready: async (child, since, output) => {
        const alive = () => child.exitCode === null && child.signalCode === null;
        if (key === 'frontend') {
          await waitReady(temporalAddress, child, output);
          await pollReady('the frontend', healthy(temporalAddress, HEALTH_SERVICE.frontend), alive);
        } else if (key === 'worker') {
          await pollReady(
            'the internal worker',
            joinedRing(temporalDbUrl, MEMBERSHIP_ROLE.worker, ports.membership.worker, since),
            alive,
          );
        } else {
          await pollReady(`the ${key} service`, healthy(`127.0.0.1:${ports[key]}`, HEALTH_SERVICE[key]), alive);
        }
      },
    });
  }

  if (ui && uiPort !== undefined) {
    const uiPath = ui.path;
    add({
      role: 'ui',
      name: 'ui',
      command: uiPath,
      args: ['--root', repoRoot, '--config', 'deploy/temporal/ui', '--env', 'weft-cluster', 'start'],
      env: {
        PATH: env.PATH,
        HOME: env.HOME,
        WEFT_TEMPORAL_PORT: String(base),
        TEMPORAL_UI_PORT: String(uiPort),
        TEMPORAL_NAMESPACE: namespace,
        ...(env.WEFT_CODEC_KEYS ? { WEFT_UI_CODEC_ENDPOINT: `${gatewayUrls[0] ?? ''}/codec` } : {}),
      },
      ready: (child) =>
        pollReady(
          'the Web UI',
          async () => (await fetch(`http://127.0.0.1:${uiPort}/`, { signal: AbortSignal.timeout(2_000) })).ok,
          () => child.exitCode === null && child.signalCode === null,
        ),
    });
  }

  // Everything the cluster listens on is weft's own: connectors are refused it (SECURITY.md,
  // Egress policy), but for the gateways' two health paths, as under `npm start`.
  const listening = [
    ...portList({ f: ports.frontend, h: ports.history, m: ports.matching, w: ports.worker, x: ports.http }),
    ...portList(ports.membership),
    ...portList(ports.metrics),
    ...(uiPort !== undefined ? [`127.0.0.1:${uiPort}`] : []),
    ...gatewayUrls.map((u) => new URL(u).host),
  ];
  const gatewayHealth = gatewayUrls.flatMap((u) =>
    ['localhost', '127.0.0.1'].flatMap((host) =>
      ['/healthz', '/readyz'].map((path) => `http://${host}:${new URL(u).port}${path}`),
    ),
  );
  const childEnv: NodeJS.ProcessEnv = { ...env };
  for (const name of STRIPPED) delete childEnv[name];
  Object.assign(childEnv, {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: databaseUrl(serverUrl, databases.store),
    // Shared by the workers: the first one started generates the result cache's key there.
    WEFT_DATA_DIR: join(dataDir, 'weft'),
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    WEFT_EGRESS_PROTECT: [...(env.WEFT_EGRESS_PROTECT ?? '').split(','), ...listening]
      .filter((s) => s.trim())
      .join(','),
    WEFT_EGRESS_ALLOW: [...(env.WEFT_EGRESS_ALLOW ?? '').split(','), ...gatewayHealth]
      .filter((s) => s.trim())
      .join(','),
    ...(uiUrl ? { TEMPORAL_UI_URL: uiUrl } : {}),
  });

  for (let i = 1; i <= workerCount; i++) {
    add({
      role: 'worker',
      name: `worker-${i}`,
      command: process.execPath,
      args: [join(scripts, 'worker.js')],
      env: childEnv,
      ready: (child, _since, output) =>
        pollReady(
          `worker-${i}`,
          () => Promise.resolve(output().includes('"msg":"worker running"')),
          () => child.exitCode === null && child.signalCode === null,
          180_000,
        ),
    });
  }
  gatewayUrls.forEach((url, i) => {
    add({
      role: 'gateway',
      name: `gateway-${i + 1}`,
      command: process.execPath,
      args: [join(scripts, 'gateway.js')],
      env: { ...childEnv, PORT: new URL(url).port },
      ready: (child) =>
        pollReady(
          `gateway-${i + 1}`,
          async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) })).ok,
          () => child.exitCode === null && child.signalCode === null,
        ),
    });
  });

  const close = async () => {
    closing = true;
    // The callers first, Temporal last, each group in parallel.
    const groups: Role[][] = [['gateway', 'ui'], ['worker'], ['frontend'], ['history', 'matching', 'internal-worker']];
    for (const roles of groups) await Promise.all(processes.filter((p) => roles.includes(p.role)).map((p) => p.stop()));
  };

  try {
    // Temporal's services first (the frontend waits for history to answer), then namespace and
    // search attributes, then the UI, the workers one by one, the gateways.
    const byRole = (roles: Role[]) => processes.filter((p) => roles.includes(p.role));
    log(`starting Temporal's services (logs in ${logDir})`);
    // History alone first: on new databases every service initialises the cluster metadata at
    // start, and those started with it lose the race and exit ("failed to initialize current
    // cluster metadata"). Once history answers, the metadata is there for the others.
    await Promise.all(byRole(['history']).map((p) => p.start()));
    await Promise.all(byRole(['frontend', 'matching', 'internal-worker']).map((p) => p.start()));
    await prepareNamespace(temporalAddress, namespace, log);
    for (const p of byRole(['ui', 'worker'])) await p.start();
    await Promise.all(byRole(['gateway']).map((p) => p.start()));
  } catch (err) {
    await close();
    throw err;
  }

  return {
    temporalAddress,
    namespace,
    gateways: gatewayUrls,
    processes,
    postgres: { connectionString: serverUrl, databases: [databases.temporal, databases.visibility, databases.store] },
    ...(uiUrl ? { uiUrl } : {}),
    logDir,
    close,
  };
}

/** The version the schema tool reports for `database` (for the banner and tests). */
export async function schemaVersion(serverUrl: string, database: string): Promise<string | undefined> {
  return withPg(databaseUrl(serverUrl, database), async (client) => {
    const rows = await client.query('SELECT curr_version FROM schema_version LIMIT 1');
    return (rows.rows[0] as { curr_version?: string } | undefined)?.curr_version;
  });
}
