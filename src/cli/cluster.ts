/**
 * `npm run cluster`: the production topology on this machine (src/cluster/cluster.ts): Temporal
 * on PostgreSQL as four processes, the Web UI, `WEFT_CLUSTER_WORKERS` workers and
 * `WEFT_CLUSTER_GATEWAYS` gateways on the PostgreSQL definition store. Ctrl-C stops everything.
 */
import { join } from 'node:path';
import { startCluster } from '../cluster/cluster.js';
import { loadConfig } from '../config.js';

const say = (message: string) => process.stdout.write(`[cluster] ${message}\n`);

if (['TEMPORAL_TLS', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'].some((name) => process.env[name])) {
  say('TEMPORAL_TLS* is set, but the cluster npm run cluster starts speaks plaintext on 127.0.0.1: unset them');
  process.exit(2);
}

/** An integer variable within bounds, or the default; anything else stops with the variable's name. */
function intVar(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    say(`${name}=${raw}: expected an integer ${min} – ${max}`);
    process.exit(2);
  }
  return value;
}

const config = loadConfig();
const cluster = await startCluster({
  workers: intVar('WEFT_CLUSTER_WORKERS', 2, 0, 32),
  gateways: intVar('WEFT_CLUSTER_GATEWAYS', 2, 0, 32),
  basePort: config.temporalPort,
  gatewayPort: config.port,
  uiPort: config.temporalUiPort,
  namespace: config.namespace,
  dataDir: join(config.dataDir, `cluster-${config.temporalPort}`),
  log: say,
});

for (const p of cluster.processes) say(`${p.name.padEnd(16)} pid ${p.pid() ?? '-'}`);
say(`Temporal frontend at ${cluster.temporalAddress} (namespace ${cluster.namespace})`);
say(`PostgreSQL databases: ${cluster.postgres.databases.join(', ')}`);
for (const url of cluster.gateways) say(`gateway: ${url.replace('127.0.0.1', 'localhost')}`);
if (cluster.gateways[0]) say(`Studio: ${cluster.gateways[0].replace('127.0.0.1', 'localhost')}/`);
say(
  cluster.uiUrl ? `Temporal Web UI: ${cluster.uiUrl}` : 'Temporal Web UI: not started (its server could not be built)',
);
say(`logs: ${cluster.logDir}`);
say('press Ctrl-C to stop');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  void cluster.close().then(() => {
    say('stopped');
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
