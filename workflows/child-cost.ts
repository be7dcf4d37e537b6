/**
 * How a child run (a `subworkflow` node, or an item of a `map` with a `subworkflow` body) and its
 * parent share AI cost and budget. The parent starts the child with `child` in its input: the
 * child stops at what is left of the parent's budget, and reports what it spent with its outcome
 * (`{ result, cost }` instead of its bare result; `cost` in its failure's details), which the
 * parent adds to its own cost. A child's children do the same, so a parent counts its whole tree.
 * Runs started before CHILD_COST_PATCH start their children without it and replay unchanged.
 */
import type { CallCost } from '../interpreter/commands.js';
import type { RunState, RunStateView } from '../interpreter/run-state.js';

/** Marks runs whose children report their cost and inherit the remaining budget. */
export const CHILD_COST_PATCH = 'weft-child-cost';

/** What a parent passes to a child it starts (`InterpretArgs.child`). */
export interface ChildArgs {
  /** What was left of the parent's budget when it started the child (USD); absent: no budget. */
  budget_usd?: number;
}

/** A child's completion as its parent reads it. */
export interface ChildOutcome {
  result: unknown;
  cost: RunStateView['cost'];
}

/** A child starts with its own budget lowered to what its parent has left. */
export function inheritBudget(state: RunState, own: number | undefined, child: ChildArgs | undefined): void {
  if (child?.budget_usd === undefined) return;
  state.max_cost_usd = Math.min(own ?? Infinity, child.budget_usd);
}

export function callCost(cost: RunStateView['cost'] | undefined): CallCost | undefined {
  if (!cost || typeof cost.usd !== 'number') return undefined;
  return { usd: cost.usd, input_tokens: cost.tokens?.input ?? 0, output_tokens: cost.tokens?.output ?? 0 };
}

/** The cost a failed child put in its failure's details (see `runFailure`). */
export function failedChildCost(details: unknown): CallCost | undefined {
  if (!details || typeof details !== 'object') return undefined;
  return callCost((details as { cost?: RunStateView['cost'] }).cost);
}

/** Splits a reporting child's completion into its result and cost. */
export function readChildOutcome(output: unknown): { output: unknown; cost?: CallCost } {
  const { result, cost } = (output ?? {}) as Partial<ChildOutcome>;
  const spent = callCost(cost);
  return { output: result, ...(spent ? { cost: spent } : {}) };
}
