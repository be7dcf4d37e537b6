/**
 * Heartbeats while a call runs. Temporal delivers an activity's cancellation (an operator's skip
 * of its running node) only in answer to a heartbeat, and the worker then aborts the context's
 * `cancellationSignal`, which the calls are given; the worker throttles what reaches the server
 * (`defaultHeartbeatThrottleInterval`).
 */
import type { Context } from '@temporalio/activity';

/** How often a running call heartbeats. */
export const HEARTBEAT_MS = 1_000;

/**
 * Heartbeats with `details()` now and every HEARTBEAT_MS until `work` settles; resolves as it
 * does. `details` gives what the heartbeat must keep carrying (a later attempt reads it).
 */
export async function whileBeating<T>(ctx: Context, details: () => unknown, work: () => Promise<T>): Promise<T> {
  // A local activity cannot heartbeat (the SDK drops it) and gets its cancellation without one.
  if (ctx.info.isLocal) return work();
  ctx.heartbeat(details());
  const beating = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(beating);
  }
}
