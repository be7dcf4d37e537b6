/**
 * Waiting for a run to close. On a terminal the run state is polled about every 500 ms to
 * keep a progress line current; otherwise the gateway's long poll (`result?wait=true`, up to
 * 60 s a request) waits without a line. Either way the answer is the run's result.
 */
import type { Answer, GatewayClient } from './gateway-client.js';
import type { RunResult } from '../gateway/run-service.js';
import { renderProgress, type ProgressLine } from './progress.js';

export const POLL_INTERVAL_MS = 500;

/** Whether a result is final (the gateway answers `running` for a running or paused run). */
export function isClosed(result: RunResult): boolean {
  return result.status !== 'running' && result.status !== 'paused';
}

/** The run's result once it has closed. */
export async function waitForRun(
  client: GatewayClient,
  runId: string,
  progress?: ProgressLine,
): Promise<Answer<RunResult>> {
  if (!progress) {
    for (;;) {
      const answer = await client.result(runId, true);
      if (isClosed(answer.body)) return answer;
    }
  }
  try {
    for (;;) {
      // The result first: a run that was terminated or timed out says so only there.
      const answer = await client.result(runId, false);
      if (isClosed(answer.body)) return answer;
      const state = await client.state(runId);
      progress.show(renderProgress(state.body, progress.width));
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  } finally {
    progress.clear();
  }
}
