/**
 * `npm run chaos`: the fault-injection harness (see RELIABILITY.md). Options:
 *   --target dev|cluster   the dev server (default) or the PostgreSQL-backed cluster
 *   --runs N               runs per fault type (default 10)
 *   --faults a,b           fault types (default: every one the target has processes for)
 *   --seed N               the seed of the fault schedule and the start spacing (default 1)
 *   --faults-per-phase N   faults injected per fault type at most (default 3)
 *   --phase-timeout S      seconds a fault type's runs may take before the rest count as lost (default 600)
 *   --workers N, --gateways M   worker and gateway processes of the target (default 2 and 2)
 *   --base-port P, --gateway-port G   the cluster target's Temporal base port (its services take
 *                          P-300 … P+777, see deploy/temporal) and first gateway port (default 24233, 25080)
 * Prints the table and exits 1 on any lost run, lost event or wrong result, 2 on a usage error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCluster } from '../../src/cluster/cluster.js';
import { POSTGRES_ADMIN_URL } from '../support/postgres.js';
import { startDevTarget } from './dev-target.js';
import { FAULT_TYPES, type FaultType } from './faults.js';
import { runChaos } from './harness.js';
import { failures, reportTable } from './report.js';
import type { ChaosTarget } from './target.js';

const log = (message: string) => process.stderr.write(`[chaos] ${message}\n`);

function usage(message: string): never {
  process.stderr.write(`npm run chaos: ${message}\n`);
  process.exit(2);
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      target: { type: 'string', default: 'dev' },
      runs: { type: 'string', default: '10' },
      faults: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'faults-per-phase': { type: 'string', default: '3' },
      'phase-timeout': { type: 'string', default: '600' },
      workers: { type: 'string', default: '2' },
      gateways: { type: 'string', default: '2' },
      'base-port': { type: 'string', default: '24233' },
      'gateway-port': { type: 'string', default: '25080' },
    },
    strict: true,
  }));
} catch (err) {
  usage((err as Error).message);
}

const seed = Number(values.seed);
if (!Number.isSafeInteger(seed)) usage(`--seed must be an integer, not ${JSON.stringify(values.seed)}`);
const asked = values.faults?.split(',').map((f) => f.trim());
for (const fault of asked ?? []) {
  if (!(FAULT_TYPES as readonly string[]).includes(fault))
    usage(`--faults: unknown fault ${JSON.stringify(fault)}; expected ${FAULT_TYPES.join(', ')}`);
}

/**
 * The PostgreSQL-backed cluster of `npm run cluster` (src/cluster/cluster.ts), on its own
 * databases (dropped at the end) and ports, so it runs beside a cluster or a dev stack.
 * The harness's HTTP target is on this host: the cluster's workers are allowed to reach it.
 */
async function clusterTarget(egressAllow: string[]): Promise<ChaosTarget> {
  const prefix = `chaos_${process.pid}_`;
  const cluster = await startCluster({
    workers,
    gateways,
    basePort,
    gatewayPort,
    uiPort: false,
    databasePrefix: prefix,
    dataDir: mkdtempSync(join(tmpdir(), 'weft-chaos-cluster-')),
    env: { ...process.env, WEFT_EGRESS_ALLOW: egressAllow.join(',') },
    log,
  });
  return {
    ...cluster,
    async close() {
      await cluster.close();
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      try {
        for (const name of cluster.postgres.databases)
          if (name.startsWith(prefix)) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

const workers = positive('workers', values.workers);
const gateways = positive('gateways', values.gateways);
const basePort = positive('base-port', values['base-port']);
const gatewayPort = positive('gateway-port', values['gateway-port']);
const makeTarget =
  values.target === 'dev'
    ? (egressAllow: string[]) => startDevTarget({ workers, gateways, egressAllow, log })
    : values.target === 'cluster'
      ? clusterTarget
      : usage(`--target must be dev or cluster, not ${JSON.stringify(values.target)}`);

const reports = await runChaos({
  target: makeTarget,
  ...(asked ? { faults: asked as FaultType[] } : {}),
  runs: positive('runs', values.runs),
  seed,
  faultsPerPhase: positive('faults-per-phase', values['faults-per-phase']),
  phaseTimeoutMs: positive('phase-timeout', values['phase-timeout']) * 1000,
  log,
}).catch((err: unknown) => {
  log(`the harness failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});

process.stdout.write(`${reportTable(reports)}\n`);
for (const report of reports) for (const problem of report.problems) log(`[${report.fault}] ${problem}`);
for (const report of reports)
  if (report.crashed.length > 0)
    log(`[${report.fault}] exited by themselves and were restarted: ${report.crashed.join(', ')}`);
const failed = failures(reports);
if (failed.length > 0) {
  process.stdout.write(`chaos: FAILED (seed ${seed}): ${failed.join('; ')}\n`);
  process.exit(1);
}
process.stdout.write(`chaos: OK (seed ${seed}): no accepted run or event lost, no wrong result\n`);
