/**
 * `npm run fuzz [-- --seed N] [--runs N] [--concurrency N]`: the long graph-fuzz profile. Obtains
 * a Temporal server like `npm test` (TEMPORAL_ADDRESS, or a headless dev server), runs N random
 * definitions (default 300, seed from the clock unless given) through test/support/graph-fuzz.ts
 * and prints each failure with its seed and plan, ready to paste into the regressions of
 * test/integration/graph-fuzz.test.ts. Exits 1 when any case failed.
 */
import { parseArgs } from 'node:util';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    runs: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '3' },
  },
});
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
for (const [name, value] of Object.entries({ seed, runs, concurrency })) {
  if (!Number.isSafeInteger(value) || value < (name === 'seed' ? 0 : 1)) {
    process.stderr.write(`--${name}: expected a whole number${name === 'seed' ? '' : ' of at least 1'}\n`);
    process.exit(2);
  }
}

const log = (m: string) => process.stderr.write(`[fuzz] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
process.env.TEMPORAL_SDK_LOG_LEVEL ??= 'ERROR';
const { fuzzPlans } = await import('../support/graph-fuzz.js');
const { describeFailure, fuzz } = await import('../support/graph-fuzz-run.js');

log(`seed ${seed}, ${runs} runs, ${concurrency} at a time`);
const started = Date.now();
const report = await fuzz(seed, fuzzPlans(seed, runs), concurrency);
await server.stop();
for (const failure of report.failures) process.stdout.write(`${describeFailure(failure)}\n\n`);
process.stdout.write(
  `graph fuzz, seed ${seed}: ${report.runs} runs (${report.completed} completed, ${report.failed} failed as planned), ` +
    `${report.failures.length} broke an invariant or diverged on replay, ${Math.round((Date.now() - started) / 1000)} s\n` +
    `node types: ${JSON.stringify(report.types)}\n`,
);
process.exit(report.failures.length > 0 ? 1 : 0);
