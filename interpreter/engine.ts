/**
 * The graph-stepping logic. `startRun` and `handleEvent` take the run state, advance it as far
 * as it can go without waiting on the outside world, and return the commands the workflow must
 * perform. They mutate the state object they are given (runs are long; copying it on every
 * step would be quadratic) and touch nothing else: no clock (the caller passes `now`), no I/O.
 */
import type { ActivityPlan, Command, EngineEvent } from './commands.js';
import type { Definition, Edge, Node, NodeOf, RetryPolicyConfig } from './definition-schema.js';
import { durationMs } from './duration.js';
import { ExpressionError, evaluate, isTruthy, renderTemplate } from './expressions.js';
import { outgoingEdges, startNodes } from './graph.js';
import {
  HISTORY_LIMIT,
  type NodeError,
  type NodeRecord,
  type NodeStatus,
  type RunError,
  type RunInfo,
  type RunState,
  type RunStatus,
} from './run-state.js';

/** Defaults for task nodes that do not say otherwise. Documented in the README. */
export const TASK_DEFAULTS = {
  timeout_ms: 5 * 60_000,
  max_attempts: 3,
  initial_interval_ms: 1_000,
  backoff_coefficient: 2,
  maximum_interval_ms: 60_000,
} as const;

/** A definition prepared for stepping: lookups computed once per workflow, not per step. */
export interface Program {
  definition: Definition;
  nodes: Map<string, Node>;
  outgoing: Map<string, Edge[]>;
}

export function compileProgram(definition: Definition): Program {
  return {
    definition,
    nodes: new Map(definition.nodes.map((node) => [node.id, node])),
    outgoing: outgoingEdges(definition),
  };
}

/** Creates the initial state for a run whose input was already validated. */
export function initialState(run: RunInfo, input: Record<string, unknown>, vars: Record<string, unknown>): RunState {
  return {
    run,
    input,
    vars: { ...vars },
    nodes: {},
    inflight: {},
    status: 'running',
    current_node: null,
    history: [],
    history_dropped: 0,
    seq: 0,
  };
}

/** Starts the run: every node without incoming edges is activated. */
export async function startRun(program: Program, state: RunState, now: string): Promise<Command[]> {
  for (const node of program.definition.nodes) {
    state.nodes[node.id] ??= { status: 'pending', attempts: 0, visits: 0 };
  }
  return advance(program, state, now, startNodes(program.definition));
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
  const record = state.nodes[execution.node];
  if (!node || !record) return [];
  record.attempts = event.attempts;
  if (event.type === 'activity_completed') {
    complete(state, node, record, event.output, now);
    return advance(program, state, now, await takeEdges(program, state, node.id, 'success'));
  }
  return advance(program, state, now, await onFailure(program, state, node, { ...event.error, node: node.id }, now));
}

function isClosed(status: RunStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

function transition(
  state: RunState,
  node: string,
  record: NodeRecord,
  to: NodeStatus,
  now: string,
  note?: string,
): void {
  const entry = { at: now, node, from: record.status, to, ...(note === undefined ? {} : { note }) };
  record.status = to;
  state.history.push(entry);
  if (state.history.length > HISTORY_LIMIT) {
    state.history.shift();
    state.history_dropped++;
  }
}

function context(state: RunState, extra?: Record<string, unknown>): Record<string, unknown> {
  return {
    vars: state.vars,
    input: state.input,
    nodes: state.nodes,
    error: state.error_scope,
    run: state.run,
    ...extra,
  };
}

function complete(state: RunState, node: Node, record: NodeRecord, output: unknown, now: string): void {
  record.output = output;
  delete record.error;
  if (node.output !== undefined) state.vars[node.output] = output ?? null;
  transition(state, node.id, record, 'completed', now);
}

/**
 * Activates nodes until the run must wait for a command's outcome. Returns the commands that
 * start that waiting, or a closing command when nothing is left.
 */
async function advance(program: Program, state: RunState, now: string, arrivals: string[]): Promise<Command[]> {
  const commands: Command[] = [];
  const queue = [...arrivals];
  while (queue.length > 0 && !isClosed(state.status)) {
    const id = queue.shift() as string;
    const node = program.nodes.get(id);
    const record = state.nodes[id];
    if (!node || !record) continue;
    record.visits++;
    if (record.visits > program.definition.options.max_node_visits) {
      closeRun(state, now, 'failed', {
        type: 'MaxNodeVisitsExceeded',
        message: `node "${id}" was visited more than ${program.definition.options.max_node_visits} times (options.max_node_visits)`,
        node: id,
      });
      break;
    }
    try {
      const next = await activate(program, state, node, record, now, commands);
      queue.push(...next);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      queue.push(
        ...(await onFailure(program, state, node, { type: 'ExpressionError', message: err.message, node: id }, now)),
      );
    }
  }
  if (!isClosed(state.status) && Object.keys(state.inflight).length === 0) {
    closeRun(state, now, 'completed', state.vars);
  }
  if (isClosed(state.status)) {
    // In-flight work of other branches is abandoned: the workflow cancels what it still runs.
    return [
      state.status === 'completed'
        ? { type: 'complete', result: state.result }
        : { type: 'fail', error: state.error as RunError },
    ];
  }
  return commands;
}

/** Runs one node's own logic; returns the ids of nodes that arrive next. */
async function activate(
  program: Program,
  state: RunState,
  node: Node,
  record: NodeRecord,
  now: string,
  commands: Command[],
): Promise<string[]> {
  switch (node.type) {
    case 'set': {
      const assigned: Record<string, unknown> = {};
      for (const [name, source] of Object.entries(node.assign)) {
        const value = (await evaluate(source, context(state))) ?? null;
        state.vars[name] = value;
        assigned[name] = value;
      }
      complete(state, node, record, assigned, now);
      return takeEdges(program, state, node.id, 'success');
    }
    case 'condition': {
      const value = (await evaluate(node.expression, context(state))) ?? null;
      complete(state, node, record, value, now);
      return takeEdges(program, state, node.id, 'success');
    }
    case 'end': {
      const result = node.result === undefined ? state.vars : await evaluate(node.result, context(state));
      complete(state, node, record, result ?? null, now);
      if (node.status === 'failed') {
        closeRun(state, now, 'failed', {
          type: 'EndFailed',
          message: node.message ?? `ended at "${node.id}"`,
          node: node.id,
        });
      } else {
        closeRun(state, now, 'completed', result ?? null);
      }
      return [];
    }
    case 'task': {
      const params = (await renderTemplate(node.inputs, context(state))) as Record<string, unknown>;
      const exec = `${node.id}#${++state.seq}`;
      state.inflight[exec] = { node: node.id, started: state.seq };
      state.current_node = node.id;
      record.attempts = 0;
      transition(state, node.id, record, 'running', now);
      commands.push({
        type: 'run_activity',
        exec,
        node: node.id,
        call: { connector: node.connector, action: node.action, params },
        plan: activityPlan(node),
      });
      return [];
    }
    default:
      throw new Error(`node type "${node.type}" reached the engine but is not supported`);
  }
}

/** Maps a task node's retry policy and timeout to activity options, filling in the defaults. */
export function activityPlan(node: NodeOf<'task'>): ActivityPlan {
  const policy: RetryPolicyConfig = node.retry_policy ?? {};
  return {
    start_to_close_ms: node.timeout === undefined ? TASK_DEFAULTS.timeout_ms : durationMs(node.timeout),
    retry: {
      maximum_attempts: policy.max_attempts ?? TASK_DEFAULTS.max_attempts,
      initial_interval_ms:
        policy.initial_interval === undefined ? TASK_DEFAULTS.initial_interval_ms : durationMs(policy.initial_interval),
      backoff_coefficient: policy.backoff_coefficient ?? TASK_DEFAULTS.backoff_coefficient,
      maximum_interval_ms:
        policy.max_interval === undefined ? TASK_DEFAULTS.maximum_interval_ms : durationMs(policy.max_interval),
      non_retryable_error_types: policy.non_retryable_errors ?? [],
    },
    summary: node.name ? `${node.id}: ${node.name}` : node.id,
  };
}

/** Evaluates a node's outgoing edges of one kind and returns the target ids to activate. */
async function takeEdges(program: Program, state: RunState, from: string, on: 'success' | 'error'): Promise<string[]> {
  const edges = (program.outgoing.get(from) ?? []).filter((edge) => edge.on === on);
  const taken: string[] = [];
  const defaults: string[] = [];
  let conditionalTaken = false;
  for (const edge of edges) {
    if (edge.default) {
      if (edge.when === undefined) {
        defaults.push(edge.to);
        continue;
      }
    }
    if (edge.when === undefined) {
      taken.push(edge.to);
    } else if (isTruthy(await evaluate(edge.when, context(state)))) {
      conditionalTaken = true;
      taken.push(edge.to);
    } else if (edge.default) {
      defaults.push(edge.to);
    }
  }
  if (!conditionalTaken) taken.push(...defaults);
  return taken;
}

/**
 * A node failed after its own retries. An `on: "error"` edge catches it; otherwise the first
 * matching error handler decides; otherwise the run fails.
 */
async function onFailure(
  program: Program,
  state: RunState,
  node: Node,
  error: NodeError,
  now: string,
): Promise<string[]> {
  const record = state.nodes[node.id] as NodeRecord;
  record.error = error;
  transition(state, node.id, record, 'failed', now, `${error.type}: ${error.message}`);
  const errorEdges = (program.outgoing.get(node.id) ?? []).filter((edge) => edge.on === 'error');
  if (errorEdges.length > 0) {
    state.error_scope = error;
    return takeEdges(program, state, node.id, 'error');
  }
  const handler = program.definition.error_handlers.find((h) => handlerMatches(h.match, node.id, error.type));
  switch (handler?.action) {
    case 'continue':
      record.output = null;
      if (node.output !== undefined) state.vars[node.output] = null;
      return takeEdges(program, state, node.id, 'success');
    case 'goto':
      state.error_scope = error;
      return handler.target === undefined ? [] : [handler.target];
    default:
      closeRun(state, now, 'failed', { type: error.type, message: error.message, node: node.id });
      return [];
  }
}

function handlerMatches(
  match: Definition['error_handlers'][number]['match'],
  node: string,
  errorType: string,
): boolean {
  if (!match) return true;
  const list = (value: string | string[] | undefined): string[] | undefined =>
    value === undefined ? undefined : Array.isArray(value) ? value : [value];
  const nodes = list(match.node);
  const types = list(match.error_type);
  return (!nodes || nodes.includes(node)) && (!types || types.includes(errorType));
}

function closeRun(state: RunState, now: string, status: 'completed', result: unknown): void;
function closeRun(state: RunState, now: string, status: 'failed', error: RunError): void;
function closeRun(state: RunState, now: string, status: 'completed' | 'failed', payload: unknown): void {
  state.status = status;
  state.current_node = null;
  state.inflight = {};
  state.history.push({ at: now, to: status });
  if (status === 'completed') state.result = payload;
  else state.error = payload as RunError;
}
