/**
 * Workflows for activity tests, bundled by `activity-worker.ts`: the generic `interpret`
 * workflow, plus `callActivity`, which calls one activity under a given retry policy and returns
 * its outcome as data, so a test can assert on the failure Temporal's retries ended with.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';

export { interpret } from '../../workflows/index.js';

export interface CallOptions {
  maximumAttempts: number;
  initialIntervalMs?: number;
  startToCloseMs?: number;
  heartbeatTimeoutMs?: number;
}

export type CallOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: { type: string; message: string; nonRetryable: boolean; details: unknown[] } };

export async function callActivity(
  name: 'runConnector' | 'runAi',
  argument: unknown,
  options: CallOptions,
): Promise<CallOutcome> {
  const activities = proxyActivities<Activities>({
    startToCloseTimeout: options.startToCloseMs ?? 30_000,
    ...(options.heartbeatTimeoutMs ? { heartbeatTimeout: options.heartbeatTimeoutMs } : {}),
    retry: {
      maximumAttempts: options.maximumAttempts,
      initialInterval: options.initialIntervalMs ?? 100,
      backoffCoefficient: 1,
    },
  });
  const activity = activities[name] as (argument: unknown) => Promise<unknown>;
  try {
    return { ok: true, value: await activity(argument) };
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      const cause = err.cause;
      return {
        ok: false,
        error: {
          type: cause.type ?? 'Error',
          message: cause.message,
          nonRetryable: cause.nonRetryable ?? false,
          details: cause.details ?? [],
        },
      };
    }
    throw err;
  }
}
