/**
 * `npm run chaos`: the fault-injection harness (see RELIABILITY.md). Options:
 *   --target dev|cluster   the dev server (default) or the PostgreSQL-backed cluster
 *   --runs N               runs per fault type (default 10)
 *   --faults a,b           fault types (default: every one the target has processes for)
 *   --seed N               the seed of the fault schedule and the start spacing (default 1)
 *   --faults-per-phase N   faults injected per fault type at most (default 3)
 *   --phase-timeout S      seconds a fault type's runs may take before the rest count as lost (default 600)
 *   --workers N, --gateways M   processes of the dev target (default 2 and 2)
 * Prints the table and exits 1 on any lost run, lost event or wrong result, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
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

function clusterTarget(egressAllow: string[]): Promise<ChaosTarget> {
  // The cluster module (`npm run cluster`) is wired here at merge; until then this target is refused.
  void egressAllow;
  return Promise.reject(new Error('cluster target not wired: src/cluster/cluster.ts is not part of this build'));
}

const workers = positive('workers', values.workers);
const gateways = positive('gateways', values.gateways);
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
