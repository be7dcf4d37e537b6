/**
 * `npm run bench:startup`: only the worker start-up of `npm run bench` (`worker-start.ts`), with
 * the load average before and after, since on a shared machine it moves the figures most.
 */
import { loadavg } from 'node:os';
import { obtainTemporal } from '../../src/temporal/dev-server.js';
import { workerStarts } from './worker-start.js';

const rounds = Number(process.env.BENCH_START_ROUNDS ?? 5);
const temporal = await obtainTemporal({ headless: true, log: (m) => process.stderr.write(`[bench] ${m}\n`) });
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
const before = load();
const seconds = await workerStarts(temporal.address, rounds);
process.stdout.write(
  `worker start, s: ${seconds.map((s) => s.toFixed(2)).join(', ')} (load average 1/5/15 min: ${before} before, ${load()} after)\n`,
);
await temporal.stop();
