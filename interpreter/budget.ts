/**
 * The run's AI budget (`options.max_cost_usd`, or what an operator raised it to on resume).
 * It is checked before every model call the engine would start: an `ai` node, and each item of
 * a `map` whose body is `ai`. Once the run's cost has reached the budget no further call starts,
 * calls already in flight finish (their cost still counts), and the run pauses with a
 * `budget_exceeded` reason until an operator resumes it with a higher budget.
 */
import type { RunState } from './run-state.js';
import { runTransition, type Program } from './state-ops.js';

/** The budget in force: an operator's raise, else the definition's; undefined when there is none. */
export function runBudget(program: Program, state: RunState): number | undefined {
  return state.max_cost_usd ?? program.definition.options.max_cost_usd;
}

/** What is left of the budget for calls started now (never below 0); undefined without a budget. */
export function remainingBudget(program: Program, state: RunState): number | undefined {
  const budget = runBudget(program, state);
  return budget === undefined ? undefined : Math.max(0, budget - state.cost.usd);
}

/** Why a model call may not start now (the pause reason), or undefined when it may. */
export function budgetRefusal(program: Program, state: RunState): string | undefined {
  const budget = runBudget(program, state);
  if (budget === undefined || state.cost.usd < budget) return undefined;
  return `budget_exceeded: the run has cost ${state.cost.usd} USD, its budget is ${budget} USD`;
}

/**
 * Notes in the run's history, once per model, that a model without a price was called: its
 * calls count as 0 USD (a run with a budget refuses such a call instead, in the activity).
 */
export function noteUnpriced(state: RunState, node: string, model: string, now: string): void {
  const note = `model "${model}" has no price (WEFT_AI_PRICES or the default table): its calls count as 0 USD`;
  if (state.history.some((t) => t.to === 'cost_unknown' && t.note?.endsWith(note))) return;
  runTransition(state, 'cost_unknown', now, { note: `${node}: ${note}` });
}

/** Pauses a running run for its budget; a run paused already keeps its reason. */
export function pauseForBudget(state: RunState, reason: string, now: string): void {
  if (state.status !== 'running') return;
  state.status = 'paused';
  state.pause_reason = reason;
  runTransition(state, 'paused', now, { note: reason });
}
