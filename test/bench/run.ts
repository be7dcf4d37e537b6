/**
 * `npm run bench`: the interpreter against hand-written workflows doing the same work with the
 * same activity, side by side in one run on one Temporal server: a 40-step sequence and a
 * 100-branch fan-out, plus a 5,000-iteration loop. Prints wall-time ratios, history events per
 * step and worker CPU time, as a Markdown table for BENCHMARKS.md. Then the flow-control
 * scenario (`flow-control.ts`: a limited node's overhead, throughput at the limit), how long
 * a worker process takes from start to polling (`worker-start.ts`), and run starts through the
 * gateway against bare client starts at 1–64 concurrent clients (`gateway-starts.ts`).
 * `BENCH_ONLY=flow-control` runs the flow-control scenario alone. The local-execution scenario
 * runs the 40-step sequence with `options.execution: "local"` beside the same definition with
 * activities (events per step counted beyond a run without steps); `BENCH_ONLY=local` runs it alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { obtainTemporal } from '../../src/temporal/dev-server.js';
import { counterLoopDefinition, fanOutDefinition, sequenceDefinition } from '../support/definitions.js';
import { json, startHttpTarget } from '../support/http-target.js';
import { versioned } from '../support/runs.js';
import { unique } from '../support/temporal.js';
import { CALL_MS, flowControlBench, flowControlLines } from './flow-control.js';
import { gatewayStartLines, gatewayStartsBench } from './gateway-starts.js';
import { workerStarts } from './worker-start.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const START_ROUNDS = Number(process.env.BENCH_START_ROUNDS ?? 5);
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const temporal = await obtainTemporal({ headless: true, log });
const ONLY = process.env.BENCH_ONLY;
const target = await startHttpTarget({
  '/step': (req, res) => json(res, 200, { i: req.query.i }),
  '/slow': (_req, res) => void setTimeout(() => json(res, 200, {}), CALL_MS),
});
const url = `${target.url}/step`;
const taskQueue = unique('bench');
const workerProcess: ChildProcess = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), {
  env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, BENCH_TASK_QUEUE: taskQueue },
});
await new Promise<void>((resolve) => workerProcess.once('message', () => resolve()));
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });

function workerCpuMs(): Promise<number> {
  return new Promise((resolve) => {
    workerProcess.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve((m.cpu.user + m.cpu.system) / 1000));
    workerProcess.send('cpu');
  });
}

interface Sample {
  ms: number;
  cpuMs: number;
  events: number;
}

async function measure(start: () => Promise<WorkflowHandle>): Promise<Sample> {
  const cpu0 = await workerCpuMs();
  const t0 = performance.now();
  const handle = await start();
  await handle.result();
  const ms = performance.now() - t0;
  const cpuMs = (await workerCpuMs()) - cpu0;
  const events = (await handle.fetchHistory()).events?.length ?? 0;
  return { ms, cpuMs, events };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const interpreted = (raw: unknown) => () =>
  client.workflow.start('interpret', {
    taskQueue,
    workflowId: unique('bench-i'),
    args: [{ definition: versioned(raw), input: {} }],
  });
const handWritten = (type: string, n: number) => () =>
  client.workflow.start(type, { taskQueue, workflowId: unique('bench-h'), args: [url, n] });

interface Row {
  scenario: string;
  steps: number;
  a: Sample[];
  b: Sample[];
}

async function compare(
  scenario: string,
  steps: number,
  a: () => Promise<WorkflowHandle>,
  b: () => Promise<WorkflowHandle>,
): Promise<Row> {
  await measure(a); // warm-up: bundle caches, connections, JIT
  await measure(b);
  const row: Row = { scenario, steps, a: [], b: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so drift on a shared machine does not favour one side.
    if (round % 2 === 0) {
      row.a.push(await measure(a));
      row.b.push(await measure(b));
    } else {
      row.b.push(await measure(b));
      row.a.push(await measure(a));
    }
  }
  log(`${scenario}: done`);
  return row;
}

const flow =
  ONLY === 'local' ? undefined : await flowControlBench(client, taskQueue, url, `${target.url}/slow`, ROUNDS);
if (flow) log('flow control: done');
const local =
  ONLY === 'flow-control'
    ? undefined
    : {
        fixed: await measure(interpreted({ id: 'no-steps', nodes: [{ id: 'done', type: 'set', assign: { v: '1' } }] })),
        row: await compare(
          '40-step sequence, local vs activity',
          40,
          interpreted({ ...sequenceDefinition(url, 40), options: { execution: 'local' } }),
          interpreted(sequenceDefinition(url, 40)),
        ),
      };
const rows =
  ONLY === 'flow-control' || ONLY === 'local'
    ? []
    : [
        await compare(
          '40-step sequence',
          40,
          interpreted(sequenceDefinition(url, 40)),
          handWritten('handWrittenSequence', 40),
        ),
        await compare(
          '100-branch fan-out',
          100,
          interpreted(fanOutDefinition(url, 100)),
          handWritten('handWrittenFanOut', 100),
        ),
      ];
const focused = ONLY === 'flow-control' || ONLY === 'local';
const loop = focused ? undefined : await measure(interpreted(counterLoopDefinition(5_000)));
const starts = focused ? [] : await workerStarts(temporal.address, START_ROUNDS);
const gatewayStarts = focused ? [] : await gatewayStartsBench(temporal.address, client, log);

const f = (n: number, digits = 0) => n.toFixed(digits);

/** The local scenario's table: `a` ran local, `b` the same definition with activities. */
function localLines(row: Row, fixed: Sample): string[] {
  const [lm, am] = [median(row.a.map((s) => s.ms)), median(row.b.map((s) => s.ms))];
  const [le, ae] = [median(row.a.map((s) => s.events)), median(row.b.map((s) => s.events))];
  const [lc, ac] = [median(row.a.map((s) => s.cpuMs)), median(row.b.map((s) => s.cpuMs))];
  const perStep = (events: number) => `${f(events / row.steps, 2)} (${f((events - fixed.events) / row.steps, 2)})`;
  return [
    `Local execution (${row.steps} light HTTP steps; events/step in total, and beyond the ${fixed.events} events of a run without steps):`,
    '',
    '| scenario | local wall ms | activity wall ms | wall ratio | local events/step | activity events/step | local worker CPU ms | activity worker CPU ms |',
    '| --- | --: | --: | --: | --: | --: | --: | --: |',
    `| ${row.scenario} | ${f(lm)} | ${f(am)} | ${f(lm / am, 3)} | ${perStep(le)} | ${perStep(ae)} | ${f(lc)} | ${f(ac)} |`,
  ];
}
const lines = [
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${f(totalmem() / 2 ** 30)} GiB; Node ${process.version}; Temporal via ${temporal.source.split(':')[0]}; ${ROUNDS} rounds, medians.`,
  '',
  ...(rows.length === 0
    ? []
    : [
        '| scenario | interpreted wall ms | hand-written wall ms | wall ratio | interpreted events/step | hand-written events/step | interpreted worker CPU ms | hand-written worker CPU ms | CPU ratio |',
        '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
        ...rows.map((r) => {
          const [am, bm] = [median(r.a.map((s) => s.ms)), median(r.b.map((s) => s.ms))];
          const [ac, bc] = [median(r.a.map((s) => s.cpuMs)), median(r.b.map((s) => s.cpuMs))];
          const [ae, be] = [median(r.a.map((s) => s.events)), median(r.b.map((s) => s.events))];
          return `| ${r.scenario} | ${f(am)} | ${f(bm)} | ${f(am / bm, 2)} | ${f(ae / r.steps, 2)} | ${f(be / r.steps, 2)} | ${f(ac)} | ${f(bc)} | ${f(ac / bc, 2)} |`;
        }),
      ]),
  '',
  ...(loop
    ? [
        `5,000-iteration set+condition loop (interpreter only): ${f(loop.ms)} ms wall, ${f(loop.cpuMs)} ms worker CPU, ${loop.events} history events.`,
        '',
      ]
    : []),
  ...(local ? [...localLines(local.row, local.fixed), ''] : []),
  ...(flow ? [...flowControlLines(flow), ''] : []),
  ...(gatewayStarts.length > 0 ? [...gatewayStartLines(gatewayStarts), ''] : []),
  ...(starts.length > 0
    ? [
        ...(['running', 'firstPoll'] as const).map((key) => {
          const seconds = starts.map((s) => s[key]);
          const what = key === 'running' ? 'its "worker running" line' : 'its first poll, as the server saw it';
          return `Worker start (\`node dist/src/cli/worker.js\` to ${what}): median ${f(median(seconds), 2)} s over ${seconds.length} starts (${f(Math.min(...seconds), 2)}–${f(Math.max(...seconds), 2)} s).`;
        }),
      ]
    : []),
];
process.stdout.write(`${lines.join('\n')}\n`);

workerProcess.send('stop');
await new Promise((r) => workerProcess.once('exit', r));
await connection.close();
await target.close();
await temporal.stop();
