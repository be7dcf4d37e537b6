/**
 * `npm start`: the whole stack on embedded defaults. A Temporal dev server (SQLite file under
 * the data dir, so runs survive a restart; our search attributes registered), one worker and
 * the gateway, each in its own process. Ctrl-C stops all of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { devServerPragmas, obtainTemporal, protectServer } from '../temporal/dev-server.js';

const config = loadConfig();
const say = (message: string) => process.stdout.write(`[weft] ${message}\n`);

// The worker and gateway inherit TEMPORAL_TLS*; the dev server we would start speaks plaintext.
if (config.temporalTls && !process.env.TEMPORAL_ADDRESS) {
  say('TEMPORAL_TLS* is set but TEMPORAL_ADDRESS is not: set it to your TLS-enabled Temporal frontend');
  say('(npm start would otherwise start a plaintext dev server), or unset the TEMPORAL_TLS* variables');
  process.exit(2);
}

const temporal = await obtainTemporal({
  // `TEMPORAL_PORT` (7233) and `TEMPORAL_UI_PORT` (its + 1000), so two stacks can run side by side.
  port: config.temporalPort,
  // Temporal's own default for its HTTP API (7243 next to 7233), so a worker started apart knows to refuse it too.
  httpPort: config.temporalPort + 10,
  uiPort: config.temporalUiPort,
  dbFile: join(config.dataDir, 'temporal.db'),
  sqlitePragmas: devServerPragmas(process.env.WEFT_TEMPORAL_SQLITE_PRAGMAS),
  namespace: config.namespace,
  // With encrypted payloads the Web UI shows them decrypted through the gateway's codec endpoint.
  ...(config.codecKeys ? { uiCodecEndpoint: `http://localhost:${config.port}/codec` } : {}),
  log: say,
});
say(`Temporal server at ${temporal.address} (${temporal.source})`);
if (temporal.listening.length > 0) say(`Temporal listens on ${temporal.listening.join(', ')} (refused to connectors)`);

/**
 * The worker's egress policy refuses the dev server's ports and the gateway; the quick start's
 * example may still ask the gateway whether it is healthy, and nothing else of it.
 */
const gatewayHealth = ['localhost', '127.0.0.1'].flatMap((host) =>
  ['/healthz', '/readyz'].map((path) => `http://${host}:${config.port}${path}`),
);
const env = {
  ...process.env,
  TEMPORAL_ADDRESS: temporal.address,
  WEFT_EGRESS_PROTECT: protectServer(temporal, process.env.WEFT_EGRESS_PROTECT),
  WEFT_EGRESS_ALLOW: [process.env.WEFT_EGRESS_ALLOW ?? '', ...gatewayHealth].filter((s) => s.length > 0).join(','),
};
const children = new Map<string, ChildProcess>();
let stopping = false;

function launch(name: 'worker' | 'gateway'): void {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [script], { env, stdio: 'inherit' });
  children.set(name, child);
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); restarting it in 1 s`);
    setTimeout(() => !stopping && launch(name), 1_000);
  });
}

launch('worker');
launch('gateway');
say(`gateway: http://localhost:${config.port}`);
say(`Temporal Web UI: ${temporal.uiUrl ?? config.uiUrl}`);
say('press Ctrl-C to stop');

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  await temporal.stop();
  say('stopped');
  process.exit(0);
}

process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
