/**
 * Activity options for task-like nodes: the node's `timeout` and `retry_policy` with our
 * defaults filled in (documented in the README).
 */
import type { ActivityPlan } from './commands.js';
import { LOCAL_DEFAULT_TIMEOUT_MS, type RetryPolicyConfig } from './definition-schema.js';
import { durationMs } from './duration.js';

export const TASK_DEFAULTS = {
  timeout_ms: 5 * 60_000,
  max_attempts: 3,
  initial_interval_ms: 1_000,
  backoff_coefficient: 2,
  maximum_interval_ms: 60_000,
} as const;

/** Model calls repair invalid answers by retrying, so they get one attempt per repair on top. */
export const AI_DEFAULTS = { ...TASK_DEFAULTS, timeout_ms: 2 * 60_000, max_attempts: 3 } as const;

interface TaskLike {
  id: string;
  name?: string;
  timeout?: number | string;
  retry_policy?: RetryPolicyConfig;
  execution?: 'activity' | 'local';
}

/** Maps a node's retry policy and timeout (or an error handler's policy) to activity options. */
export function activityPlan(node: TaskLike, override?: RetryPolicyConfig, defaults = TASK_DEFAULTS): ActivityPlan {
  const policy: RetryPolicyConfig = override ?? node.retry_policy ?? {};
  const local = node.execution === 'local';
  return {
    start_to_close_ms:
      node.timeout === undefined ? (local ? LOCAL_DEFAULT_TIMEOUT_MS : defaults.timeout_ms) : durationMs(node.timeout),
    retry: {
      maximum_attempts: policy.max_attempts ?? defaults.max_attempts,
      initial_interval_ms:
        policy.initial_interval === undefined ? defaults.initial_interval_ms : durationMs(policy.initial_interval),
      backoff_coefficient: policy.backoff_coefficient ?? defaults.backoff_coefficient,
      maximum_interval_ms:
        policy.max_interval === undefined ? defaults.maximum_interval_ms : durationMs(policy.max_interval),
      non_retryable_error_types: policy.non_retryable_errors ?? [],
    },
    summary: node.name ? `${node.id}: ${node.name}` : node.id,
    // Only on local calls: the commands (and run state) of every other call stay as they were.
    ...(local ? { local: true as const } : {}),
  };
}
