/**
 * A connector call as a task (or a map's task body) makes it, and whether a body holds a permit
 * of its node's limiter. Pure: the engine and the node types (interpreter/nodes/) share them.
 */
import type { ConnectorCall } from './commands.js';
import { durationMs } from './duration.js';
import type { RunQuotas } from './quotas.js';

/** A task's connector call, with its result cache setting and the run's response size quota. */
export function connectorCall(
  task: {
    connector: string;
    action: string;
    connection?: string;
    cache?: { ttl: number | string };
    resource_limits?: { memory_mb?: number };
  },
  params: Record<string, unknown>,
  quotas?: RunQuotas,
): ConnectorCall {
  return {
    connector: task.connector,
    action: task.action,
    // Only when the task names one: calls of tasks without a connection stay as they were.
    ...(task.connection === undefined ? {} : { connection: task.connection }),
    params,
    ...(task.cache ? { cache: { ttl_ms: durationMs(task.cache.ttl) } } : {}),
    ...(quotas ? { max_response_bytes: quotas.response_bytes } : {}),
    // Only when the task declares it (refused at submit before it was honoured: older runs have none).
    ...(task.resource_limits?.memory_mb === undefined ? {} : { memory_mb: task.resource_limits.memory_mb }),
  };
}

/** The key as limiters compare it (`42` and `"42"` are one key); null: no key. */
export function permitKey(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? null);
}

/** Whether a node's executions hold a permit of its limiter (a concurrency or a rate limit). */
export function limited<T extends { max_concurrency?: number; rate_per_second?: number }>(
  limits: T | undefined,
): limits is T {
  return limits?.max_concurrency !== undefined || limits?.rate_per_second !== undefined;
}
