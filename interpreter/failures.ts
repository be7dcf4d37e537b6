/**
 * What happens when a node fails after its own retries: an `on: "error"` edge catches it;
 * otherwise the first matching error handler decides (retry, compensate, terminate, continue,
 * goto); otherwise `options.on_failure` fails the run or parks it for an operator.
 */
import type { Command } from './commands.js';
import type { Definition, Node } from './definition-schema.js';
import { durationMs } from './duration.js';
import { renderTemplate } from './expressions.js';
import { leave } from './flow.js';
import { recordNodeWrite } from './lineage.js';
import { activityPlan } from './plans.js';
import type { Arrival, NodeError, RunError, RunState } from './run-state.js';
import { closeRun, context, isClosed, newExec, record, runTransition, transition, type Program } from './state-ops.js';

type Handler = Definition['error_handlers'][number];

function asList(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

export function handlerMatches(handler: Handler, node: string, errorType: string): boolean {
  const nodes = asList(handler.match?.node);
  const types = asList(handler.match?.error_type);
  return (!nodes || nodes.includes(node)) && (!types || types.includes(errorType));
}

/**
 * Cancels every piece of work still in flight (the run is ending or compensating). The nodes it
 * belonged to will not finish, so their records say `cancelled`, not `running` or `waiting`.
 */
export function cancelAll(state: RunState, commands: Command[], now: string): void {
  const note = isClosed(state.status) ? `the run ${state.status} before this node finished` : 'the run is compensating';
  for (const [exec, execution] of Object.entries(state.inflight)) {
    delete state.inflight[exec];
    if (execution.kind !== 'map') commands.push({ type: 'cancel', exec });
    const status = record(state, execution.node).status;
    if (status === 'running' || status === 'waiting') transition(state, execution.node, 'cancelled', now, { note });
  }
}

/** Handles a failed node; returns the arrivals that follow from it. */
export async function onFailure(
  program: Program,
  state: RunState,
  node: Node,
  error: NodeError,
  now: string,
  commands: Command[],
): Promise<Arrival[]> {
  const entry = record(state, node.id);
  entry.error = error;
  transition(state, node.id, 'failed', now, { note: `${error.type}: ${error.message}` });
  if ((program.outgoing.get(node.id) ?? []).some(({ edge }) => edge.on === 'error')) {
    state.error_scope = error;
    return leave(program, state, node.id, 'error');
  }
  const handler = program.definition.error_handlers.find((h) => handlerMatches(h, node.id, error.type));
  switch (handler?.action) {
    case 'retry':
      if (entry.handler_retry !== handler.id) {
        entry.handler_retry = handler.id;
        const delay = handler.retry_policy?.initial_interval;
        const exec = newExec(state, node.id);
        const deadline = new Date(Date.parse(now) + (delay === undefined ? 1_000 : durationMs(delay))).toISOString();
        const command = {
          type: 'start_timer',
          exec,
          node: node.id,
          deadline,
          summary: `${node.id}: retry delay`,
        } as const;
        state.inflight[exec] = { kind: 'wait', node: node.id, started: state.seq, command, purpose: 'retry_delay' };
        commands.push(command);
        return [];
      }
      delete entry.handler_retry;
      return fallback(program, state, node, error, now, commands);
    case 'continue':
      entry.output = null;
      if (node.output !== undefined) {
        state.vars[node.output] = null;
        recordNodeWrite(state, node, node.output, now, { inputs: [] });
      }
      return leave(program, state, node.id, 'success');
    case 'goto':
      state.error_scope = error;
      return [...(await leave(program, state, node.id, 'dead')), { node: handler.target as string, live: true }];
    case 'terminate':
      block(state, node.id);
      closeRun(state, now, 'failed', runError(error));
      return [];
    case 'compensate':
      await startCompensation(program, state, runError(error), now, commands);
      return [];
    default:
      return fallback(program, state, node, error, now, commands);
  }
}

function runError(error: NodeError): RunError {
  return { type: error.type, message: error.message, node: error.node };
}

/** Records that this node's failure is what stopped the run. */
function block(state: RunState, node: string): void {
  state.blocked = [...(state.blocked ?? []).filter((id) => id !== node), node];
}

function fallback(
  program: Program,
  state: RunState,
  node: Node,
  error: NodeError,
  now: string,
  _commands: Command[],
): Arrival[] {
  block(state, node.id);
  if (program.definition.options.on_failure === 'pause') {
    state.status = 'paused';
    state.pause_reason = `node "${node.id}" failed: ${error.type}: ${error.message}`;
    runTransition(state, 'paused', now, { note: state.pause_reason });
    return [];
  }
  closeRun(state, now, 'failed', runError(error));
  return [];
}

/** Starts the saga: compensations of completed nodes in reverse completion order. */
export async function startCompensation(
  program: Program,
  state: RunState,
  error: RunError,
  now: string,
  commands: Command[],
) {
  cancelAll(state, commands, now);
  state.compensating = { remaining: [...state.compensable].reverse(), error };
  state.compensated = true;
  runTransition(state, 'compensating', now, { note: `${error.type}: ${error.message}` });
  await nextCompensation(program, state, now, commands);
}

/** Runs the next compensation, or fails the run once none is left. */
export async function nextCompensation(
  program: Program,
  state: RunState,
  now: string,
  commands: Command[],
): Promise<void> {
  const saga = state.compensating;
  if (!saga) return;
  const id = saga.remaining.shift();
  const node = id === undefined ? undefined : program.nodes.get(id);
  if (!node || node.type !== 'task' || !node.compensation) {
    delete state.compensating;
    closeRun(state, now, 'failed', saga.error);
    return;
  }
  const params = (await renderTemplate(node.compensation.inputs, context(state))) as Record<string, unknown>;
  const exec = newExec(state, node.id);
  const command = {
    type: 'run_activity',
    exec,
    node: node.id,
    call: {
      connector: node.compensation.connector,
      action: node.compensation.action,
      ...(node.compensation.connection === undefined ? {} : { connection: node.compensation.connection }),
      params,
      ...(state.quotas ? { max_response_bytes: state.quotas.response_bytes } : {}),
    },
    plan: { ...activityPlan(node), summary: `${node.id}: compensation` },
  } as const;
  state.inflight[exec] = { kind: 'work', node: node.id, started: state.seq, command, compensation: true };
  commands.push(command);
}
