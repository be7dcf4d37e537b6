/**
 * The flow-control scenario of `npm run bench` (README "Flow control", cost): the per-step
 * overhead of a node limited by `resource_limits.max_concurrency` without contention against the
 * same node unlimited (wall ratio and history events per step), and the throughput of runs at
 * their limit against the limit's ideal (`limit` calls of `CALL_MS` each at a time, back to back).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { sequenceDefinition } from '../support/definitions.js';
import { versioned } from '../support/runs.js';
import { unique } from '../support/temporal.js';

const STEPS = 10;
/** How long the throughput target takes to answer each call. */
export const CALL_MS = 200;
const RUNS = 20;
const LIMIT = 2;

export interface FlowControlResult {
  steps: number;
  limited: { ms: number; events: number };
  unlimited: { ms: number; events: number };
  throughput: { runs: number; limit: number; call_ms: number; ideal_ms: number; ms: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** `stepUrl` answers at once; `slowUrl` answers after `CALL_MS`. */
export async function flowControlBench(
  client: Client,
  taskQueue: string,
  stepUrl: string,
  slowUrl: string,
  rounds: number,
): Promise<FlowControlResult> {
  const start = (raw: unknown) =>
    client.workflow.start('interpret', {
      taskQueue,
      workflowId: unique('bench-flow'),
      args: [{ definition: versioned(raw), input: {} }],
    });
  const unlimitedRaw = { ...sequenceDefinition(stepUrl, STEPS), id: unique('flow-free') };
  // A limit never reached (each step its own limiter, one run at a time): only the permit's cost.
  const limitedRaw = {
    ...unlimitedRaw,
    id: unique('flow-limited'),
    nodes: unlimitedRaw.nodes.map((n) => ({ ...n, resource_limits: { max_concurrency: 1000 } })),
  };
  const once = async (raw: unknown) => {
    const t0 = performance.now();
    const handle: WorkflowHandle = await start(raw);
    await handle.result();
    return { ms: performance.now() - t0, events: (await handle.fetchHistory()).events?.length ?? 0 };
  };
  await once(limitedRaw); // warm-up
  await once(unlimitedRaw);
  const limited: { ms: number; events: number }[] = [];
  const unlimited: { ms: number; events: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      limited.push(await once(limitedRaw));
      unlimited.push(await once(unlimitedRaw));
    } else {
      unlimited.push(await once(unlimitedRaw));
      limited.push(await once(limitedRaw));
    }
  }

  const atLimit = {
    id: unique('flow-throughput'),
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: slowUrl },
        resource_limits: { max_concurrency: LIMIT },
      },
    ],
  };
  const t0 = performance.now();
  const handles = await Promise.all(Array.from({ length: RUNS }, () => start(atLimit)));
  await Promise.all(handles.map((h) => h.result()));
  const ms = performance.now() - t0;
  const pick = (xs: { ms: number; events: number }[]) => ({
    ms: median(xs.map((x) => x.ms)),
    events: median(xs.map((x) => x.events)),
  });
  return {
    steps: STEPS,
    limited: pick(limited),
    unlimited: pick(unlimited),
    throughput: { runs: RUNS, limit: LIMIT, call_ms: CALL_MS, ideal_ms: (RUNS / LIMIT) * CALL_MS, ms },
  };
}

/** The scenario's lines for BENCHMARKS.md. */
export function flowControlLines(r: FlowControlResult): string[] {
  const f = (n: number, digits = 0) => n.toFixed(digits);
  return [
    '| flow control | limited | unlimited | ratio |',
    '| --- | --: | --: | --: |',
    `| ${r.steps}-step sequence, every step \`max_concurrency\` (never reached), wall ms | ${f(r.limited.ms)} | ${f(r.unlimited.ms)} | ${f(r.limited.ms / r.unlimited.ms, 2)} |`,
    `| same, history events per step | ${f(r.limited.events / r.steps, 1)} | ${f(r.unlimited.events / r.steps, 1)} | ${f(r.limited.events / r.unlimited.events, 2)} |`,
    '',
    `Throughput at the limit: ${r.throughput.runs} runs, one call of ${r.throughput.call_ms} ms each, \`max_concurrency: ${r.throughput.limit}\`: ${f(r.throughput.ms)} ms against an ideal of ${f(r.throughput.ideal_ms)} ms (${f((100 * r.throughput.ideal_ms) / r.throughput.ms)} % of the limit's ideal throughput).`,
  ];
}
