/**
 * Hand-written workflows that do what an interpreted definition does, calling the same
 * activity, so tests and benchmarks can compare history sizes and speed. Bundled together with
 * the generic workflow so one worker runs both.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';

export { interpret } from '../../workflows/interpret.js';
// Limited nodes (the flow-control bench) ask their limiter workflow for permits.
export { permitLimiter } from '../../workflows/limiter.js';

const { runConnector } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** N HTTP calls one after the other, each output kept. */
export async function handWrittenSequence(url: string, steps: number): Promise<unknown[]> {
  const outputs: unknown[] = [];
  for (let i = 0; i < steps; i++) {
    outputs.push((await runConnector({ connector: 'http', action: 'request', params: { url, query: { i } } })).output);
  }
  return outputs;
}

/** N HTTP calls at once, then all outputs together. */
export async function handWrittenFanOut(url: string, branches: number): Promise<unknown[]> {
  const calls = Array.from({ length: branches }, (_, i) =>
    runConnector({ connector: 'http', action: 'request', params: { url, query: { i } } }),
  );
  return (await Promise.all(calls)).map((r) => r.output);
}
