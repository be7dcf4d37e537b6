/**
 * The graph-stepping logic. `startRun` and `handleEvent` take the run state, advance it as far
 * as it can go without waiting on the outside world, and return the commands the workflow must
 * perform. They mutate the state object they are given (runs are long; copying it on every
 * step would be quadratic) and touch nothing else: no clock (the caller passes `now`), no I/O.
 */
import type { Command, EngineEvent, ExternalEvent } from './commands.js';
import type { Node, NodeOf } from './definition-schema.js';
import { ACTIVATION_LIMITS, SLICE_LIMITS, segmentFull, yieldSlice } from './expression-budget.js';
import { ExpressionError, NeedsAsync, evaluate, isTruthy } from './expressions.js';
import { budgetRefusal, noteUnpriced, pauseForBudget } from './budget.js';
import { cancelAll, nextCompensation, onFailure } from './failures.js';
import { leave, leaveDeadLoop, leaveSync, receive } from './flow.js';
import { startNodes } from './graph.js';
import { recordInitialVariables, recordNodeWrite } from './lineage.js';
import { bodyCommand, cancelMapItems, fillMap } from './map-node.js';
import { nodeModule, type Step, type SyncResult } from './nodes/index.js';
import { QUOTA_EXCEEDED, inflightRefusal, type Refusal, type RunQuotas } from './quotas.js';
import type { Arrival, Execution, NodeError, RunError, RunInfo, RunState } from './run-state.js';
import { mapResultWritten, stateRefusal, type StateWrite } from './state-size.js';
import {
  closeRun,
  completeNode,
  context,
  isClosed,
  newExec,
  record,
  resetMeter,
  runTransition,
  transition,
  type Program,
} from './state-ops.js';
import { deadline, timerCommand } from './timers.js';

export { compileProgram, useEvaluation, type Program } from './state-ops.js';
export { activityPlan, TASK_DEFAULTS } from './plans.js';

/** Events kept for nodes that do not wait yet; the oldest is dropped beyond this. */
export const EVENT_BUFFER_LIMIT = 100;

/** Creates the initial state for a run whose input was already validated. */
export function initialState(
  run: RunInfo,
  input: Record<string, unknown>,
  vars: Record<string, unknown>,
  quotas?: RunQuotas,
): RunState {
  return {
    run,
    input,
    vars: { ...vars },
    nodes: {},
    inflight: {},
    status: 'running',
    history: [],
    history_dropped: 0,
    seq: 0,
    tokens: {},
    joins_fired: {},
    parked: [],
    skip_pending: {},
    compensable: [],
    event_buffer: [],
    seen_event_ids: [],
    cost: { usd: 0, tokens: { input: 0, output: 0 } },
    ...(quotas ? { quotas } : {}),
  };
}

/** Starts the run: every node without incoming edges is activated. */
export async function startRun(program: Program, state: RunState, now: string): Promise<Command[]> {
  for (const node of program.definition.nodes) record(state, node.id);
  recordInitialVariables(state, now);
  return advance(
    program,
    state,
    now,
    startNodes(program.definition).map((node) => ({ node, live: true })),
  );
}

/** Applies the outcome of a command and advances the run. */
export async function handleEvent(
  program: Program,
  state: RunState,
  event: EngineEvent,
  now: string,
): Promise<Command[]> {
  const execution = state.inflight[event.exec];
  if (!execution || isClosed(state.status)) return [];
  delete state.inflight[event.exec];
  const node = program.nodes.get(execution.node);
  if (!node) return [];
  const commands: Command[] = [];
  const arrivals = await outcome(program, state, node, execution, event, now, commands);
  return advance(program, state, now, arrivals, commands);
}

function failureOf(event: EngineEvent, node: string): NodeError | undefined {
  if (event.type === 'activity_failed' || event.type === 'child_failed') return { ...event.error, node };
  return undefined;
}

async function outcome(
  program: Program,
  state: RunState,
  node: Node,
  execution: Execution,
  event: EngineEvent,
  now: string,
  commands: Command[],
): Promise<Arrival[]> {
  const entry = record(state, node.id);
  if ('attempts' in event) entry.attempts = event.attempts;
  if (event.type === 'activity_completed' && !(execution.kind === 'work' && execution.map)) {
    if (event.cached) entry.cached = true;
    else delete entry.cached;
  }
  // A child's cost rolls up into its parent's, so the parent's budget counts it too.
  if (event.type !== 'timer_fired' && event.cost) {
    addCost(state, node.id, event.cost);
    if (event.cost.unpriced_model) noteUnpriced(state, node.id, event.cost.unpriced_model, now);
  }
  const failure = failureOf(event, node.id);
  const output = event.type === 'activity_completed' || event.type === 'child_completed' ? event.output : undefined;

  if (execution.kind === 'work' && execution.compensation) {
    const note = failure ? `compensation failed: ${failure.type}: ${failure.message}` : 'compensated';
    runTransition(state, 'compensation', now, { note: `${node.id}: ${note}` });
    await nextCompensation(program, state, now, commands);
    return [];
  }
  if (execution.kind === 'work' && execution.map) {
    const map = state.inflight[execution.map.exec];
    if (map?.kind !== 'map' || node.type !== 'map') return [];
    const index = execution.map.index;
    const tooLarge = failure
      ? undefined
      : refusedWrite(program, state, node, { mapItem: { results: map.results, index, value: output } });
    if (failure || tooLarge) {
      commands.push(...cancelMapItems(state, execution.map.exec));
      if (tooLarge) return stateFailure(program, state, node, tooLarge, now, commands);
      const error = { ...(failure as NodeError), message: `item ${index}: ${(failure as NodeError).message}` };
      return onFailure(program, state, node, error, now, commands);
    }
    mapResultWritten(map.results, index, output);
    map.results[index] = output ?? null;
    map.running--;
    commands.push(...(await fillMap(program, state, node, execution.map.exec, now)));
    // Items the budget held back start on resume: the map is not done until every item ran.
    if (map.running > 0 || map.next < map.items.length) return [];
    const whole = refusedWrite(program, state, node, { ...writeOf(node, map.results), removesMap: execution.map.exec });
    delete state.inflight[execution.map.exec];
    if (whole) return stateFailure(program, state, node, whole, now, commands);
    completeNode(state, node, map.results, now);
    return leave(program, state, node.id, 'success');
  }
  if (execution.kind === 'work') {
    if (failure) return onFailure(program, state, node, failure, now, commands);
    const tooLarge = refusedWrite(program, state, node, writeOf(node, output));
    if (tooLarge) return stateFailure(program, state, node, tooLarge, now, commands);
    completeNode(state, node, output, now);
    return leave(program, state, node.id, 'success');
  }
  if (execution.kind === 'wait') {
    if (execution.purpose === 'retry_delay') return [{ node: node.id, live: true }];
    if (execution.purpose === 'yield') {
      const deferred = state.deferred ?? [];
      delete state.deferred;
      return deferred;
    }
    completeNode(
      state,
      node,
      { waited_until: execution.command.type === 'start_timer' ? execution.command.deadline : null },
      now,
    );
    return leave(program, state, node.id, 'success');
  }
  if (execution.kind === 'event') {
    const message = `no matching "${execution.event_type}" event arrived in time`;
    return onFailure(program, state, node, { type: 'Timeout', message, node: node.id }, now, commands);
  }
  if (execution.kind === 'approval') {
    const quorum = node.type === 'approval' ? node.quorum : undefined;
    const approvals = execution.approvals ?? [];
    const decision = {
      approved: execution.on_timeout === 'approve',
      by: 'timeout',
      comment: null,
      ...(quorum === undefined ? {} : { approvals }),
    };
    entry.output = decision;
    if (decision.approved) {
      completeNode(state, node, decision, now, { note: 'approved on timeout' });
      return leave(program, state, node.id, 'success');
    }
    const message =
      quorum === undefined
        ? 'no decision before the timeout'
        : `${approvals.length} of the ${quorum} approvals needed before the timeout`;
    return onFailure(program, state, node, { type: 'Rejected', message, node: node.id }, now, commands);
  }
  return [];
}

function addCost(
  state: RunState,
  node: string,
  cost: { usd: number; input_tokens: number; output_tokens: number },
): void {
  const entry = record(state, node);
  const prior = entry.cost ?? { usd: 0, tokens: { input: 0, output: 0 } };
  entry.cost = {
    usd: prior.usd + cost.usd,
    tokens: { input: prior.tokens.input + cost.input_tokens, output: prior.tokens.output + cost.output_tokens },
  };
  state.cost.usd += cost.usd;
  state.cost.tokens.input += cost.input_tokens;
  state.cost.tokens.output += cost.output_tokens;
}

/** Whether the run has anything in flight or waiting. */
export function isBusy(state: RunState): boolean {
  return Object.keys(state.inflight).length > 0 || state.compensating !== undefined;
}

/**
 * Processes arrivals until the run must wait for the outside world. Returns the commands that
 * start that waiting, or the closing commands when nothing is left.
 */
export async function advance(
  program: Program,
  state: RunState,
  now: string,
  arrivals: Arrival[],
  commands: Command[] = [],
): Promise<Command[]> {
  const queue = [...arrivals];
  const meter = resetMeter(state);
  const slices = meter.settings?.slices;
  while (queue.length > 0 && !isClosed(state.status)) {
    const full = segmentFull(slices);
    if (slices && (slices.used >= SLICE_LIMITS.units || full)) {
      // Messages waiting (an operator's cancel, say) are handled first: hand the rest back. So is
      // everything once the run's segment is done: it continues as new before going on.
      if (full || slices.waiting?.()) {
        yieldStep(state, queue.splice(0), now, commands);
        break;
      }
      await yieldSlice(slices);
    } else if (!slices && meter.units > ACTIVATION_LIMITS.units) {
      yieldStep(state, queue.splice(0), now, commands);
      break;
    }
    meter.units++;
    if (slices) slices.used++;
    meter.nodeStart = meter.units;
    const arrival = queue.shift() as Arrival;
    if (arrival.live && state.status === 'paused') {
      state.parked.push(arrival);
      continue;
    }
    const node = program.nodes.get(arrival.node);
    if (!node) continue;
    const reception = receive(program, state, arrival);
    if (reception.dead) {
      if (record(state, node.id).status === 'pending')
        transition(state, node.id, 'skipped', now, { note: 'branch not taken' });
      queue.push(...(await leave(program, state, node.id, 'dead')));
    }
    if (reception.deadLoop) {
      for (const member of reception.deadLoop) {
        if (record(state, member).status === 'pending')
          transition(state, member, 'skipped', now, { note: 'branch not taken' });
      }
      queue.push(...leaveDeadLoop(program, state, reception.deadLoop));
    }
    if (!reception.run) continue;
    const entry = record(state, node.id);
    entry.visits++;
    if (entry.visits > program.definition.options.max_node_visits) {
      closeRun(state, now, 'failed', {
        type: 'MaxNodeVisitsExceeded',
        message: `node "${node.id}" was visited more than ${program.definition.options.max_node_visits} times (options.max_node_visits)`,
        node: node.id,
      });
      break;
    }
    try {
      const fast = activateSync(program, state, node, reception.joinOutput, now, commands);
      if (fast === undefined)
        queue.push(...(await activate(program, state, node, reception.joinOutput, now, commands)));
      else if ('leave' in fast) queue.push(...(await leave(program, state, node.id, 'success')));
      else queue.push(...fast.arrivals);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      const message = program.boundMessage ? program.boundMessage(err.message) : err.message;
      const error = { type: 'ExpressionError', message, node: node.id };
      queue.push(...(await onFailure(program, state, node, error, now, commands)));
    }
  }
  if (state.status === 'running' && !isBusy(state) && state.parked.length === 0) {
    await completeRun(program, state, now);
  }
  if (isClosed(state.status)) {
    const closing: Command[] = commands.filter((c) => c.type === 'cancel');
    cancelAll(state, closing, now);
    closing.push(
      state.status === 'completed'
        ? { type: 'complete', result: state.result }
        : { type: 'fail', error: state.error ?? { type: 'Error', message: 'the run failed' } },
    );
    return closing;
  }
  return commands;
}

/**
 * The run's result when it completes without an `end` node's own `result`: `options.result`
 * evaluated over the final context, or (by default) the final variables.
 */
async function runResult(program: Program, state: RunState): Promise<unknown> {
  const source = program.definition.options.result;
  return source === undefined ? state.vars : ((await evaluate(source, context(state))) ?? null);
}

/** Completes the run with its result; an `options.result` that fails to evaluate fails the run instead. */
async function completeRun(program: Program, state: RunState, now: string): Promise<void> {
  try {
    closeRun(state, now, 'completed', await runResult(program, state));
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    const message = `options.result: ${program.boundMessage ? program.boundMessage(err.message) : err.message}`;
    closeRun(state, now, 'failed', { type: 'ExpressionError', message });
  }
}

/**
 * Ends a long engine step: what is left waits in `deferred` behind a 1 ms durable timer, so the
 * workflow activation ends and the next one resumes it (see ACTIVATION_LIMITS).
 */
function yieldStep(state: RunState, left: Arrival[], now: string, commands: Command[]): void {
  const node = left[0]?.node ?? 'engine';
  const exec = newExec(state, node);
  const command = timerCommand(exec, node, deadline(now, ACTIVATION_LIMITS.pauseMs), 'pause in a long step');
  state.inflight[exec] = { kind: 'wait', node, started: state.seq, command, purpose: 'yield' };
  state.deferred = [...(state.deferred ?? []), ...left];
  commands.push(command);
}

/** After a node completed: its arrivals, or a request to compute them asynchronously. */
function leaveNow(program: Program, state: RunState, node: string): SyncResult {
  try {
    return { arrivals: leaveSync(program, state, node, 'success') };
  } catch (err) {
    if (err instanceof NeedsAsync) return { leave: true };
    throw err;
  }
}

/** What the engine hands a node type (nodes/types.ts): this activation and the state operations on it. */
function stepOf(
  program: Program,
  state: RunState,
  node: Node,
  joinOutput: Record<string, unknown> | undefined,
  now: string,
  commands: Command[],
): Step {
  return {
    program,
    state,
    node,
    joinOutput,
    now,
    commands,
    context: (extra) => context(state, extra),
    record: () => record(state, node.id),
    newExec: () => newExec(state, node.id),
    transition: (status, note) => transition(state, node.id, status, now, note === undefined ? {} : { note }),
    refused: (output, vars) => refusedWrite(program, state, node, writeOf(node, output, vars)),
    failState: (error) => stateFailure(program, state, node, error, now, commands),
    failQuota: (refusal) => quotaFailure(program, state, node, refusal, now, commands),
    complete: (output, extra) => completeNode(state, node, output, now, extra),
    recordWrite: (name, inputs) => recordNodeWrite(state, node, name, now, { inputs }),
    leave: () => leave(program, state, node.id, 'success'),
    leaveNow: () => leaveNow(program, state, node.id),
    close: (status: 'completed' | 'failed', payload: unknown) =>
      status === 'completed'
        ? closeRun(state, now, 'completed', payload)
        : closeRun(state, now, 'failed', payload as RunError),
    runResult: () => runResult(program, state),
    startWork: () => startWork(program, state, node as NodeOf<'task' | 'ai' | 'subworkflow'>, now, commands),
    fillMap: (exec) => fillMap(program, state, node as NodeOf<'map'>, exec, now),
    eventMatches: (wait, event) => eventMatches(state, wait, event, program.keylessOnly),
  };
}

/**
 * A node without a single promise, when its type can (nodes/<type>.ts `activateSync`: set,
 * condition, join, task) and its expressions are simple enough; `undefined` (before any change
 * to the state) otherwise. Promises are expensive in Temporal's sandbox, and loops run these
 * nodes thousands of times.
 */
function activateSync(
  program: Program,
  state: RunState,
  node: Node,
  joinOutput: Record<string, unknown> | undefined,
  now: string,
  commands: Command[],
): SyncResult | undefined {
  if (state.skip_pending[node.id]) return undefined;
  const module = nodeModule(node);
  if (!module.activateSync) return undefined;
  try {
    return module.activateSync(stepOf(program, state, node, joinOutput, now, commands));
  } catch (err) {
    if (err instanceof NeedsAsync) return undefined;
    throw err;
  }
}

/** Runs one node's own logic (its type's `activate`); returns the arrivals that follow at once (if any). */
async function activate(
  program: Program,
  state: RunState,
  node: Node,
  joinOutput: Record<string, unknown> | undefined,
  now: string,
  commands: Command[],
): Promise<Arrival[]> {
  const skip = state.skip_pending[node.id];
  if (skip) {
    delete state.skip_pending[node.id];
    completeNode(state, node, skip.output, now, { status: 'skipped', note: 'skipped by an operator', by: skip.by });
    return leave(program, state, node.id, 'success');
  }
  return nodeModule(node).activate(stepOf(program, state, node, joinOutput, now, commands));
}

/** A node refused by a run-time quota fails with QuotaExceeded (error edges and handlers apply). */
function quotaFailure(
  program: Program,
  state: RunState,
  node: Node,
  refusal: Refusal,
  now: string,
  commands: Command[],
): Promise<Arrival[]> {
  // For the workflow to count (weft_quota_refusals_total on the worker); it empties the list.
  (state.quota_refusals ??= []).push(refusal.quota);
  const error = { type: QUOTA_EXCEEDED, message: refusal.message, node: node.id };
  return onFailure(program, state, node, error, now, commands);
}

/** What completing `node` with `output` writes: its output, its `output` variable and `vars`. */
export function writeOf(node: Node, output: unknown, vars: Record<string, unknown> = {}): StateWrite {
  return {
    vars: node.output === undefined ? vars : { ...vars, [node.output]: output ?? null },
    output: { node: node.id, value: output },
  };
}

/** Why `write` may not happen (it would take the state over `state_bytes`), or undefined. */
export function refusedWrite(program: Program, state: RunState, node: Node, write: StateWrite): NodeError | undefined {
  return stateRefusal(state, node.id, write, program.stateBound);
}

/** A node whose result would make the state too large fails with StateTooLarge (error edges and handlers apply). */
export function stateFailure(
  program: Program,
  state: RunState,
  node: Node,
  error: NodeError,
  now: string,
  commands: Command[],
): Promise<Arrival[]> {
  (state.quota_refusals ??= []).push('state_bytes');
  return onFailure(program, state, node, error, now, commands);
}

async function startWork(
  program: Program,
  state: RunState,
  node: NodeOf<'task' | 'ai' | 'subworkflow'>,
  now: string,
  commands: Command[],
): Promise<Arrival[]> {
  const entry = record(state, node.id);
  const overBudget = node.type === 'ai' ? budgetRefusal(program, state) : undefined;
  if (overBudget) {
    // The arrival comes back (parked while paused), so a resume with a higher budget starts the node.
    entry.visits--;
    pauseForBudget(state, overBudget, now);
    return [{ node: node.id, live: true }];
  }
  const refused = inflightRefusal(state);
  if (refused) return quotaFailure(program, state, node, refused, now, commands);
  const override = entry.handler_retry
    ? program.definition.error_handlers.find((h) => h.id === entry.handler_retry)?.retry_policy
    : undefined;
  const exec = newExec(state, node.id);
  const body = node.type === 'task' ? { task: node } : node.type === 'ai' ? { ai: node } : { subworkflow: node };
  const command = await bodyCommand(exec, node, body, context(state), override, state.quotas);
  state.inflight[exec] = { kind: 'work', node: node.id, started: state.seq, command };
  entry.attempts = 0;
  transition(state, node.id, 'running', now);
  commands.push(command);
  return [];
}

/** Correlation keys compare as strings: `42` and `"42"` are the same order. */
function keyOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '';
}

/** Whether an external event satisfies a waiting event node. */
export async function eventMatches(
  state: RunState,
  wait: { event_type: string; correlation_key: unknown; filters?: string },
  event: ExternalEvent,
  keylessOnly?: () => boolean,
): Promise<boolean> {
  if (wait.event_type !== event.event_type) return false;
  const eventKeyed = event.correlation_key !== null && event.correlation_key !== undefined;
  if (wait.correlation_key !== null && wait.correlation_key !== undefined) {
    if (!eventKeyed) return false;
    if (keyOf(wait.correlation_key) !== keyOf(event.correlation_key)) return false;
  } else if (eventKeyed && (keylessOnly?.() ?? true)) {
    // A wait whose key is null hears only events without a key (as its keyless mailbox sends).
    return false;
  }
  if (wait.filters === undefined) return true;
  return isTruthy(await evaluate(wait.filters, context(state, { event })));
}

/**
 * The workflow asked the node's limiter for a permit for `exec` (`resource_limits`: max_concurrency, rate_per_second):
 * the node waits (a map node keeps running; its item waits). An operator may skip a waiting node,
 * which cancels the execution and so gives its place in line up.
 */
export function permitWaiting(state: RunState, exec: string, key: string | null, now: string): void {
  const execution = state.inflight[exec];
  if (execution?.kind !== 'work') return;
  execution.permit = { key };
  if (!execution.map)
    transition(state, execution.node, 'waiting', now, {
      note: `waiting for a permit${key === null ? '' : ` (key ${key})`}`,
    });
}

/** The limiter granted the permit: the execution's call starts, the node runs. */
export function permitGranted(state: RunState, exec: string, now: string): void {
  const execution = state.inflight[exec];
  if (execution?.kind !== 'work' || !execution.permit) return;
  delete execution.permit;
  if (!execution.map && state.nodes[execution.node]?.status === 'waiting')
    transition(state, execution.node, 'running', now, { note: 'permit granted' });
}

/** Commands that (re)start every piece of work and timer recorded in the state, for a continued run. */
export function pendingWork(state: RunState): Command[] {
  const commands: Command[] = [];
  for (const execution of Object.values(state.inflight)) {
    if (execution.kind === 'work' || execution.kind === 'wait') commands.push(execution.command);
    else if ((execution.kind === 'event' || execution.kind === 'approval') && execution.timer)
      commands.push(execution.timer);
  }
  return commands;
}
