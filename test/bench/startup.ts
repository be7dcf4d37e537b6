/**
 * `npm run bench:startup`: only the worker start-up of `npm run bench` (`worker-start.ts`: to the
 * "worker running" line and to the first poll the server saw), with the load average before and after, since on a shared machine it moves the figures most.
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
const starts = await workerStarts(temporal.address, rounds);
const list = (key: 'running' | 'firstPoll') => starts.map((s) => s[key].toFixed(2)).join(', ');
process.stdout.write(
  `worker start, s: "worker running" line ${list('running')}; first poll seen by the server ${list('firstPoll')} (load average 1/5/15 min: ${before} before, ${load()} after)\n`,
);
await temporal.stop();
