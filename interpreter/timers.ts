/** Durable timer commands and their deadlines, shared by the engine and the node types that wait. */
import { durationMs } from './duration.js';
import { timerRefusal, type Refusal } from './quotas.js';
import type { RunState } from './run-state.js';

/** `now` plus `ms`, as an ISO date-time. */
export function deadline(now: string, ms: number): string {
  return new Date(Date.parse(now) + ms).toISOString();
}

/** The command that starts the durable timer `exec` of `node`, firing at `at`. */
export function timerCommand(exec: string, node: string, at: string, what: string) {
  return { type: 'start_timer', exec, node, deadline: at, summary: `${node}: ${what}` } as const;
}

/** Why a node's `timeout` may not start its timer (a run-time quota), or undefined. */
export function timeoutRefusal(
  state: RunState,
  now: string,
  timeout: number | string | undefined,
): Refusal | undefined {
  return timeout === undefined ? undefined : timerRefusal(state, now, deadline(now, durationMs(timeout)));
}
