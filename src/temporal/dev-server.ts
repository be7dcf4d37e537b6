/**
 * Obtains a Temporal server for local use and tests, in this order:
 *   1. `TEMPORAL_ADDRESS` is set: use it, start nothing;
 *   2. a `temporal` CLI binary: `TEMPORAL_CLI_PATH`, then `PATH`, then our cache dir;
 *   3. build the pinned CLI with `go install` into the cache dir when Go exists;
 *   4. the SDK's own download of a dev server (needs general internet access).
 * The CLI version is pinned here and nowhere else.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../shared/search-attributes.js';

/** The Temporal CLI release we build and test against (Temporal Server 1.29.1, UI 2.42.1). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

type Log = (message: string) => void;

export interface TemporalServer {
  address: string;
  /** The Web UI, when this process started a server with one. */
  uiUrl?: string;
  /**
   * Every `host:port` a dev server this process started listens on that we chose (frontend,
   * HTTP API, metrics, Web UI): for `WEFT_EGRESS_PROTECT`, so connectors are refused them.
   * Empty for a server we did not start.
   */
  listening: string[];
  /** Where the binary came from, for the start-up banner. */
  source: string;
  stop(): Promise<void>;
  /** Kills the server process with SIGKILL (a crash, for tests); only on a dev server started from the CLI binary. */
  kill?(): Promise<void>;
}

/** Per-user cache, outside any clone, so fresh clones and CI reuse one build. */
export function cacheRoot(env = process.env): string {
  if (env.WEFT_CACHE_DIR) return env.WEFT_CACHE_DIR;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weft');
}

/**
 * A Go program we resolve like the CLI: its own env var, then `PATH`, then the cache dir, then
 * `go install module@version` into the cache dir.
 */
export interface GoBinary {
  /** What to call it in messages. */
  label: string;
  /** Names an executable to use instead of looking for one. */
  envVar: string;
  /** The file name looked for on `PATH` and kept in the cache; undefined: not looked for on `PATH`. */
  pathName?: string;
  module: string;
  version: string;
  /** Directory under the cache root, e.g. `temporal-cli`. */
  cacheDir: string;
  /** The file name it is cached under. */
  cachedName: string;
}

export const TEMPORAL_CLI: GoBinary = {
  label: 'the Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  pathName: 'temporal',
  module: CLI_MODULE,
  version: TEMPORAL_CLI_VERSION,
  cacheDir: 'temporal-cli',
  cachedName: 'temporal',
};

export function cachedBinaryPath(binary: GoBinary, env = process.env): string {
  return join(cacheRoot(env), binary.cacheDir, binary.version, binary.cachedName);
}

export function cachedCliPath(env = process.env): string {
  return cachedBinaryPath(TEMPORAL_CLI, env);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The `go` binary, when Go is installed. */
export function findGo(env = process.env): string | undefined {
  return onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Builds `binary` with Go into the cache; returns its path, or undefined without Go. */
export function buildWithGo(binary: GoBinary, log: Log, env = process.env): string | undefined {
  const go = findGo(env);
  if (!go) return undefined;
  const target = cachedBinaryPath(binary, env);
  mkdirSync(dirname(target), { recursive: true });
  // Build into a private dir and rename, so a killed build never leaves a half-written binary.
  const staging = mkdtempSync(join(dirname(target), '.build-'));
  const spec = `${binary.module}@${binary.version}`;
  log(`building ${binary.label} ${binary.version} with Go (first time only, takes a few minutes)…`);
  const result = spawnSync(go, ['install', spec], {
    env: { ...env, GOBIN: staging, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    if (result.status !== 0) throw new Error(`go install ${spec} failed (exit ${result.status})`);
    // `go install` names the file after the package's directory (`server`, `sql`, `temporal`).
    renameSync(join(staging, binary.module.split('/').at(-1) ?? binary.cachedName), target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/** Builds the pinned CLI with Go into the cache; returns its path, or undefined without Go. */
export function buildCliWithGo(log: Log, env = process.env): string | undefined {
  return buildWithGo(TEMPORAL_CLI, log, env);
}

/** Finds (or builds) `binary`; undefined means Go is not installed either. */
export function resolveGoBinary(
  binary: GoBinary,
  log: Log,
  env = process.env,
): { path: string; source: string } | undefined {
  const given = env[binary.envVar];
  if (given) {
    if (!isExecutable(given)) throw new Error(`${binary.envVar}=${given} is not an executable file`);
    return { path: given, source: binary.envVar };
  }
  const fromPath = binary.pathName ? onPath(binary.pathName, env) : undefined;
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const cached = cachedBinaryPath(binary, env);
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  const built = buildWithGo(binary, log, env);
  return built ? { path: built, source: 'built with go' } : undefined;
}

/** Finds (or builds) a Temporal CLI binary; undefined means "fall back to the SDK download". */
export function resolveTemporalCli(log: Log, env = process.env): { path: string; source: string } | undefined {
  return resolveGoBinary(TEMPORAL_CLI, log, env);
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether `port` can be listened on at 127.0.0.1 right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A free loopback port below the kernel's ephemeral range, for a server that is stopped and
 * started again on the same port. While it is down its clients keep connecting to that port;
 * were it ephemeral, the kernel could give one of those connects the very same port as its own
 * end (a TCP self-connect), which then holds it and the restart cannot bind.
 */
export async function freeFixedPort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // Not Linux: keep the common default.
  }
  const ceiling = Math.min(low - 1, 32767);
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = 20000 + Math.floor(Math.random() * (ceiling - 20000));
    if (await canListen(candidate)) return candidate;
  }
  throw new Error('no free port below the ephemeral range');
}

/** Waits until the frontend at `address` answers, or `child` dies, or the deadline passes. */
export async function waitReady(
  address: string,
  child: ChildProcess | undefined,
  output: () => string,
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`the Temporal server exited with code ${child.exitCode}:\n${output()}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`the Temporal server at ${address} did not become ready: ${String(lastError)}\n${output()}`);
}

/**
 * The SQLite pragmas `npm start`'s dev server runs with: `journal_mode=wal` (measured 2.3 times the
 * start throughput of the CLI's defaults, `npm run bench:pragmas`, with every commit still synced),
 * then `WEFT_TEMPORAL_SQLITE_PRAGMAS` (`name=value,…`, e.g. `synchronous=normal`: faster again, but
 * a power loss or OS crash may drop the last commits). A malformed entry is refused naming the variable.
 */
export function devServerPragmas(value: string | undefined): Record<string, string> {
  const pragmas: Record<string, string> = { journal_mode: 'wal' };
  for (const entry of (value ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const match = /^([a-z_]{1,64})=([A-Za-z0-9_-]{1,64})$/.exec(entry);
    if (!match)
      throw new Error(
        `WEFT_TEMPORAL_SQLITE_PRAGMAS: expected name=value pairs separated by commas (such as synchronous=normal), got "${entry}"`,
      );
    pragmas[match[1] as string] = match[2] as string;
  }
  return pragmas;
}

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** The HTTP API's port (`--http-port`); a free port we choose (and report) when omitted, never the CLI's random one. */
  httpPort?: number;
  /** The metrics endpoint's port (`--metrics-port`); chosen like `httpPort`. */
  metricsPort?: number;
  /** A SQLite file that keeps runs across restarts; omitted = in memory. */
  dbFile?: string;
  /** SQLite pragmas of the server's store (`--sqlite-pragma name=value`), e.g. `{ journal_mode: 'wal' }`. */
  sqlitePragmas?: Record<string, string>;
  headless?: boolean;
  namespace?: string;
  /** The Web UI decodes payloads through this remote codec (`--ui-codec-endpoint`); ignored when headless. */
  uiCodecEndpoint?: string;
  log?: Log;
  env?: NodeJS.ProcessEnv;
}

/** Starts a dev server with our search attributes registered; resolves once it is ready. */
export async function startDevServer(options: DevServerOptions = {}): Promise<TemporalServer> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const env = options.env ?? process.env;
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  // Chosen here and reported: the CLI would open these on random ports nobody knows to guard.
  const httpPort = options.httpPort ?? (await freePort());
  const metricsPort = options.metricsPort ?? (await freePort());
  const uiPort = options.uiPort ?? port + 1000;
  const listening = [address, `127.0.0.1:${httpPort}`, `127.0.0.1:${metricsPort}`];
  if (!options.headless) listening.push(`127.0.0.1:${uiPort}`);
  const cli = resolveTemporalCli(log, env);
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  const portArgs = ['--http-port', String(httpPort), '--metrics-port', String(metricsPort)];
  if (!cli) return startWithSdkDownload(address, port, { ...options, uiPort }, portArgs, listening);

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...portArgs];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.uiCodecEndpoint && !options.headless) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const [name, value] of Object.entries(options.sqlitePragmas ?? {}))
    args.push('--sqlite-pragma', `${name}=${value}`);
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitReady(address, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  const uiUrl = options.headless ? undefined : `http://localhost:${uiPort}`;
  return { address, uiUrl, listening, source: `${cli.source}: ${cli.path}`, stop, kill };
}

/** Last resort: the SDK downloads a dev server itself (fails on machines without internet). */
async function startWithSdkDownload(
  address: string,
  port: number,
  options: DevServerOptions,
  portArgs: string[],
  listening: string[],
): Promise<TemporalServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const uiPort = options.uiPort ?? port + 1000;
  const codecArgs =
    options.uiCodecEndpoint && !options.headless ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : [];
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port,
      ui: !options.headless,
      uiPort: options.headless ? undefined : uiPort,
      dbFilename: options.dbFile,
      namespace: options.namespace,
      searchAttributes: Object.keys(SEARCH_ATTRIBUTES).map((name) => ({ name, type: 'KEYWORD' as const })),
      extraArgs: [
        ...portArgs,
        ...codecArgs,
        ...Object.entries(options.sqlitePragmas ?? {}).flatMap(([name, value]) => [
          '--sqlite-pragma',
          `${name}=${value}`,
        ]),
      ],
    },
  });
  return {
    address,
    listening,
    uiUrl: options.headless ? undefined : `http://localhost:${uiPort}`,
    source: 'SDK download',
    stop: () => env.teardown(),
  };
}

/**
 * `WEFT_EGRESS_PROTECT` extended with what a dev server listens on, for the processes that run
 * connectors next to it.
 */
export function protectServer(server: TemporalServer, current: string | undefined): string {
  return [...(current ?? '').split(','), ...server.listening]
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join(',');
}

/** `TEMPORAL_ADDRESS` when set (nothing started), else a dev server of our own. */
export async function obtainTemporal(options: DevServerOptions = {}): Promise<TemporalServer> {
  const env = options.env ?? process.env;
  if (env.TEMPORAL_ADDRESS) {
    return { address: env.TEMPORAL_ADDRESS, listening: [], source: 'TEMPORAL_ADDRESS', stop: () => Promise.resolve() };
  }
  return startDevServer(options);
}
