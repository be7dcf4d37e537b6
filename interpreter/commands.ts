/**
 * The vocabulary between the interpreter and the workflow adapter: the interpreter consumes
 * events and returns commands; the workflow performs the commands and reports their outcome.
 */
import type { NodeError, RunError } from './run-state.js';

/** Retry and timeout settings for one activity, in milliseconds. */
export interface ActivityPlan {
  start_to_close_ms: number;
  retry: {
    maximum_attempts: number;
    initial_interval_ms: number;
    backoff_coefficient: number;
    maximum_interval_ms: number;
    non_retryable_error_types: string[];
  };
  /** Shown on the activity in the Web UI. */
  summary: string;
  /** The node's execution is "local": a Temporal local activity (README "Local execution"); absent: an activity. */
  local?: true;
}

/** A connector action call, fully rendered (no templates left). */
export interface ConnectorCall {
  connector: string;
  action: string;
  /** The tenant's named connection to call through (the task's `connection`); resolved by the activity. */
  connection?: string;
  params: Record<string, unknown>;
  /** Reuse the result of an identical call made within this time (the node's `cache.ttl`). */
  cache?: { ttl_ms: number };
  /**
   * The largest response the connector may read for this call, in bytes (the tenant's
   * `response_bytes` quota); lowers the worker's `WEFT_MAX_RESPONSE_BYTES`.
   */
  max_response_bytes?: number;
  /** JSON Pointers of params rendered from secret-derived values, masked in failures (`taint.ts`; set by the workflow). */
  mask?: string[];
  /** The task's `resource_limits.memory_mb`: reserved against the worker's memory budget while the connector runs. */
  memory_mb?: number;
}

/** A model call, prompt already rendered (no templates left). */
export interface AiCall {
  /** The node id; names the step in errors and in the structured-output schema. */
  node: string;
  /** A model name or an alias from `WEFT_AI_MODELS`. */
  model: string;
  system?: string;
  prompt: string;
  /** Chat completion parameters: temperature, max_tokens, top_p, …; unknown ones are refused. */
  parameters?: Record<string, unknown>;
  /**
   * A JSON Schema the answer must satisfy (requested as structured output), or a
   * `{ "var": "jsonata over the answer" }` map whose evaluation is the output.
   */
  output_mapping?: Record<string, unknown>;
  /** The tenant's named `ai` connection (the node's `connection`); only present when the node names one. */
  connection?: string;
  /** The node's `resource_limits.memory_mb`: reserved against the worker's memory budget while the model call runs. */
  memory_mb?: number;
}

/** A child run of another stored definition. */
export interface ChildCall {
  definition: string;
  version?: string;
  input: Record<string, unknown>;
}

/**
 * The node's `resource_limits` (`max_concurrency`, `rate_per_second` with its `burst`), with its
 * `concurrency_key` evaluated for this execution (as a string; null: the node has no key, or it
 * gave null): the workflow holds a permit of the node's limiter (`workflows/limiter.ts`) while
 * the call runs.
 */
export interface PermitLimit {
  max_concurrency?: number;
  rate?: PermitRate;
  key: string | null;
}

/** A token bucket: `burst` starts at most at once, refilled at `per_second`. */
export interface PermitRate {
  per_second: number;
  burst: number;
}

export type Command =
  | { type: 'run_activity'; exec: string; node: string; call: ConnectorCall; plan: ActivityPlan; limit?: PermitLimit }
  | { type: 'run_ai'; exec: string; node: string; call: AiCall; plan: ActivityPlan; limit?: PermitLimit }
  | { type: 'start_child'; exec: string; node: string; call: ChildCall; summary: string }
  | { type: 'start_timer'; exec: string; node: string; deadline: string; summary: string }
  | { type: 'cancel'; exec: string }
  | { type: 'complete'; result: unknown }
  | { type: 'fail'; error: RunError };

/** Commands that start work the workflow must track until an event reports its end. */
export type WorkCommand = Extract<Command, { type: 'run_activity' | 'run_ai' | 'start_child' | 'start_timer' }>;

/** Usage and cost an AI activity (or a child run, for all of its calls) reports with its outcome. */
export interface CallCost {
  usd: number;
  input_tokens: number;
  output_tokens: number;
  /** The model had no price, so `usd` is 0 whatever the call cost: the run notes it once per model. */
  unpriced_model?: string;
}

export type EngineEvent =
  | { type: 'activity_completed'; exec: string; output: unknown; attempts: number; cost?: CallCost; cached?: boolean }
  | { type: 'activity_failed'; exec: string; error: Omit<NodeError, 'node'>; attempts: number; cost?: CallCost }
  /** `cost`: what the child run spent on AI, reported by children started with `child` (its whole tree). */
  | { type: 'child_completed'; exec: string; output: unknown; cost?: CallCost }
  | { type: 'child_failed'; exec: string; error: Omit<NodeError, 'node'>; cost?: CallCost }
  | { type: 'timer_fired'; exec: string };

/** An external event as delivered to a run (by the gateway, NATS, or a test). */
export interface ExternalEvent {
  event_type: string;
  correlation_key?: string | number | null;
  payload?: unknown;
  event_id?: string;
  /** When the gateway accepted it (ISO time), for the delivery latency metric; set by the gateway only. */
  accepted_at?: string;
}
