/**
 * `npm run bench:pragmas`: the embedded dev server (`npm start`'s, a SQLite file) with its
 * default SQLite settings against `--sqlite-pragma` variants, side by side: for each setting a
 * fresh server on its own file, the bench worker, then (1) bare run starts from 16 clients and
 * (2) 10-step HTTP sequences, 8 at a time, start to completion. Rounds alternate the settings'
 * order. Prints a Markdown table; the wall ratio is against the defaults.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../../src/temporal/dev-server.js';
import { sequenceDefinition } from '../support/definitions.js';
import { json, startHttpTarget } from '../support/http-target.js';
import { versioned } from '../support/runs.js';
import { unique } from '../support/temporal.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STARTS = Number(process.env.BENCH_PRAGMA_STARTS ?? 400);
const RUNS = Number(process.env.BENCH_PRAGMA_RUNS ?? 32);
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const SETTINGS: Array<{ name: string; pragmas: Record<string, string> }> = [
  { name: 'defaults', pragmas: {} },
  { name: 'journal_mode=wal', pragmas: { journal_mode: 'wal' } },
  { name: 'journal_mode=wal, synchronous=normal', pragmas: { journal_mode: 'wal', synchronous: 'normal' } },
];

const target = await startHttpTarget({ '/step': (req, res) => json(res, 200, { i: req.query.i }) });
const url = `${target.url}/step`;

async function pool(clients: number, total: number, one: () => Promise<void>): Promise<number> {
  let left = total;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) await one();
    }),
  );
  return performance.now() - t0;
}

async function measure(pragmas: Record<string, string>): Promise<{ startsMs: number; runsMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-pragmas-'));
  const server = await startDevServer({
    headless: true,
    dbFile: join(dir, 'temporal.db'),
    sqlitePragmas: pragmas,
    log,
  });
  const taskQueue = unique('bench-pragmas');
  const worker = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), {
    env: { ...process.env, TEMPORAL_ADDRESS: server.address, BENCH_TASK_QUEUE: taskQueue },
  });
  const connection = await Connection.connect({ address: server.address });
  try {
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const client = new Client({ connection });
    const idle = versioned({ id: 'idle', nodes: [{ id: 'a', type: 'set', assign: {} }] });
    const startsMs = await pool(16, STARTS, async () => {
      await client.workflow.start('interpret', {
        taskQueue: `${taskQueue}-idle`,
        workflowId: unique('p-start'),
        args: [{ definition: idle, input: {} }],
      });
    });
    const sequence = versioned(sequenceDefinition(url, 10));
    const runsMs = await pool(8, RUNS, async () => {
      const handle = await client.workflow.start('interpret', {
        taskQueue,
        workflowId: unique('p-run'),
        args: [{ definition: sequence, input: {} }],
      });
      await handle.result();
    });
    return { startsMs, runsMs };
  } finally {
    worker.send('stop');
    await new Promise((r) => worker.once('exit', r));
    await connection.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const before = loadavg().map((l) => l.toFixed(2));
const results = new Map<string, Array<{ startsMs: number; runsMs: number }>>(SETTINGS.map((s) => [s.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? SETTINGS : [...SETTINGS].reverse();
  for (const setting of order) {
    results.get(setting.name)?.push(await measure(setting.pragmas));
    log(`round ${round + 1}: ${setting.name} done`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const base = results.get('defaults') ?? [];
const [baseStarts, baseRuns] = [median(base.map((r) => r.startsMs)), median(base.map((r) => r.runsMs))];
const lines = [
  `| dev server SQLite setting | ${STARTS} starts, 16 clients: ms | starts/s | ratio | ${RUNS} 10-step runs, 8 at a time: ms | ratio |`,
  '| --- | --: | --: | --: | --: | --: |',
  ...SETTINGS.map(({ name }) => {
    const rs = results.get(name) ?? [];
    const [s, r] = [median(rs.map((x) => x.startsMs)), median(rs.map((x) => x.runsMs))];
    return `| ${name} | ${s.toFixed(0)} | ${((STARTS / s) * 1000).toFixed(1)} | ${(s / baseStarts).toFixed(2)} | ${r.toFixed(0)} | ${(r / baseRuns).toFixed(2)} |`;
  }),
  '',
  `${ROUNDS} rounds, medians; load average 1/5/15 min ${before.join(' / ')} before, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} after.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await target.close();
