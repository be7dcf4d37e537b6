/**
 * Run-level flow control (`options.max_concurrent_runs`, `options.debounce`, `options.priority`):
 * the keys a run's permit and its debouncer are found by, and the Temporal task priority a weft priority maps to. Evaluated by the
 * workflow before the run's first node, and by the gateway for a start with `on_limit: "skip"`,
 * over the same context, so both name the same limiter.
 */
import type { Definition } from './definition-schema.js';
import { evaluate } from './expressions.js';
import { permitKey } from './map-node.js';
import { MASK, type RunState } from './run-state.js';
import { context } from './state-ops.js';
import { readsSecret } from './taint.js';

/** The reserved node name of run permits in their limiter (node ids start with a letter, so none takes it). */
export const RUN_PERMIT = '__run__';

/**
 * How a permit limiter names a holder in `closedPermitHolders` answers: its Temporal run id, or
 * for a run permit (held by the workflow id, run id "") `workflow:<id>`.
 */
export const holderRef = (holder: { workflow_id: string; run_id: string }): string =>
  holder.run_id || `workflow:${holder.workflow_id}`;

/** weft's default priority (1 lowest … 5 highest). */
export const DEFAULT_PRIORITY = 3;

/**
 * A run-level key (`options.concurrency_key`, of the run limit and of debounce bursts) over the
 * run's context at start (input, vars, run; no node has run); null without a key.
 */
export async function keyAtStart(source: string | undefined, state: RunState): Promise<string | null> {
  return source === undefined ? null : permitKey(await evaluate(source, context(state)));
}

/** The run's key: `options.concurrency_key` at start. */
export function runPermitKey(definition: Pick<Definition, 'options'>, state: RunState): Promise<string | null> {
  return keyAtStart(definition.options.concurrency_key, state);
}

/** Temporal's task priority key (1 highest … 5 lowest) for a weft priority (5 highest … 1 lowest). */
export function temporalPriorityKey(priority: number | undefined): number {
  return 6 - (priority ?? DEFAULT_PRIORITY);
}

/** A run-level key as answers and the state show it: `***` when its expression reads a secret. */
export function shownKey(
  definition: Pick<Definition, 'variables' | 'nodes' | 'options'>,
  key: string | null,
): string | null {
  return key !== null && readsSecret(definition, definition.options.concurrency_key) ? MASK : key;
}
