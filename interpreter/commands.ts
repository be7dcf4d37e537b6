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
}

/** A connector action call, fully rendered (no templates left). */
export interface ConnectorCall {
  connector: string;
  action: string;
  params: Record<string, unknown>;
}

export type Command =
  | { type: 'run_activity'; exec: string; node: string; call: ConnectorCall; plan: ActivityPlan }
  | { type: 'complete'; result: unknown }
  | { type: 'fail'; error: RunError };

export type EngineEvent =
  | { type: 'activity_completed'; exec: string; output: unknown; attempts: number }
  | { type: 'activity_failed'; exec: string; error: Omit<NodeError, 'node'>; attempts: number };
