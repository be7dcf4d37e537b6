/**
 * Small mutations of the run state shared by the engine's parts: status transitions with
 * their history entry, completing a node, closing the run, the expression context.
 */
import { WORK_METER, type EvaluationSettings, type WorkMeter } from './expression-budget.js';
import type { Definition, Edge, Node } from './definition-schema.js';
import { withDefaultExecution } from './execution.js';
import { cycles } from './graph.js';
import { recordNodeWrite } from './lineage.js';
import {
  HISTORY_LIMIT,
  type NodeRecord,
  type NodeStatus,
  type RunError,
  type RunState,
  type RunStatus,
} from './run-state.js';

/** A definition prepared for stepping: lookups computed once per workflow, not per step. */
export interface Program {
  definition: Definition;
  nodes: Map<string, Node>;
  /** Outgoing edges per node with their index in `definition.edges`. */
  outgoing: Map<string, Array<{ edge: Edge; index: number }>>;
  /** Indexes of the incoming edges per node. */
  incoming: Map<string, number[]>;
  /** Nodes on a cycle: an edge they do not take this time may be taken next iteration. */
  cyclic: Set<string>;
  /** Per node on a cycle, its loop: the strongly connected component and the edges entering it from outside. */
  loops: Map<string, Loop>;
  /** Bounds an expression failure message (the workflow cuts long ones behind `patched()`); absent: kept as is. */
  boundMessage?: (message: string) => string;
  /**
   * Whether the budget is checked before each item of an `ai` map, asked only when it would hold
   * one back (the workflow answers with `patched()`, so older runs replay); absent: it is.
   */
  budgetEveryCall?: () => boolean;
  /**
   * Whether a write that would take the run state over `state_bytes` fails its node
   * (`state-size.ts`), asked only when one would (the workflow answers with `patched()`, so runs
   * recorded before the bound replay as they ran); absent: it does.
   */
  stateBound?: () => boolean;
  /**
   * Whether a wait whose correlation key is null ignores events that have a key, asked only
   * when such an event would otherwise match it (the workflow answers with `patched()`, so runs
   * recorded before replay as they ran, when it matched them); absent: it ignores them.
   */
  keylessOnly?: () => boolean;
  /**
   * Whether a loop whose every entering edge arrived dead dies as a whole (`flow.ts`), asked only
   * when one would (the workflow answers with `patched()`, so runs recorded before, whose nodes
   * after such a loop stayed `pending`, replay as they ran); absent: it does.
   */
  deadLoops?: () => boolean;
}

/** A cycle of the graph (a strongly connected component) and the edges that enter it from outside. */
export interface Loop {
  members: string[];
  entries: number[];
}

export function compileProgram(definition: Definition): Program {
  const outgoing = new Map<string, Array<{ edge: Edge; index: number }>>();
  const incoming = new Map<string, number[]>();
  definition.edges.forEach((edge, index) => {
    outgoing.set(edge.from, [...(outgoing.get(edge.from) ?? []), { edge, index }]);
    incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), index]);
  });
  return {
    definition,
    nodes: new Map(definition.nodes.map((node) => [node.id, withDefaultExecution(node, definition.options.execution)])),
    outgoing,
    incoming,
    cyclic: new Set(cycles(definition).flat()),
    loops: loopsOf(definition),
  };
}

function loopsOf(definition: Definition): Map<string, Loop> {
  const loops = new Map<string, Loop>();
  for (const members of cycles(definition)) {
    const inside = new Set(members);
    const entries = definition.edges.flatMap((edge, index) =>
      inside.has(edge.to) && !inside.has(edge.from) ? [index] : [],
    );
    const loop = { members, entries };
    for (const member of members) loops.set(member, loop);
  }
  return loops;
}

export function isClosed(status: RunStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

export function record(state: RunState, node: string): NodeRecord {
  let entry = state.nodes[node];
  if (!entry) {
    entry = { status: 'pending', attempts: 0, visits: 0 };
    state.nodes[node] = entry;
  }
  return entry;
}

function pushHistory(state: RunState, entry: RunState['history'][number]): void {
  state.history.push(entry);
  if (state.history.length > HISTORY_LIMIT) {
    state.history.shift();
    state.history_dropped++;
  }
}

/** Moves a node to a new status and records the transition. */
export function transition(
  state: RunState,
  node: string,
  to: NodeStatus,
  now: string,
  extra: { note?: string; by?: string; request_id?: string } = {},
): void {
  const entry = record(state, node);
  pushHistory(state, { at: now, node, from: entry.status, to, ...extra });
  entry.status = to;
}

/** Records a run-level transition (paused, resumed, an operator's action). */
export function runTransition(
  state: RunState,
  to: string,
  now: string,
  extra: { note?: string; by?: string; request_id?: string } = {},
): void {
  pushHistory(state, { at: now, to, ...extra });
}

/** The work meter of a run's current engine step (see ACTIVATION_LIMITS); never part of the state's JSON. */
const meters = new WeakMap<RunState, WorkMeter>();

/** How each run's expressions are evaluated (set by the workflow); never part of the state's JSON. */
const evaluation = new WeakMap<RunState, EvaluationSettings>();

/**
 * Sets how the run's expressions are evaluated: the workflow passes the linear-time regex engine
 * and slicing for new runs, the legacy engine for runs started before them (see SLICE_LIMITS).
 */
export function useEvaluation(state: RunState, settings: EvaluationSettings): void {
  evaluation.set(state, settings);
  const meter = meters.get(state);
  if (meter) meter.settings = settings;
}

/** Starts counting an engine step's work afresh. */
export function resetMeter(state: RunState): WorkMeter {
  const settings = evaluation.get(state);
  const meter: WorkMeter = { units: 0, nodeStart: 0, ...(settings ? { settings } : {}) };
  meters.set(state, meter);
  return meter;
}

/**
 * The JSONata evaluation context of the language. It carries the run's work meter under a
 * symbol key, which JSONata and JSON never see, so every evaluation charges the engine step.
 */
export function context(state: RunState, extra?: Record<string, unknown>): Record<string, unknown> {
  let meter = meters.get(state);
  if (!meter) meter = resetMeter(state);
  return {
    vars: state.vars,
    input: state.input,
    nodes: state.nodes,
    error: state.error_scope,
    run: state.run,
    ...extra,
    [WORK_METER]: meter,
  };
}

/**
 * Marks a node completed (or skipped by an operator) with an output, writing its `output`
 * variable. Either way its success edges are followed next.
 */
export function completeNode(
  state: RunState,
  node: Node,
  output: unknown,
  now: string,
  extra: { by?: string; request_id?: string; note?: string; status?: 'completed' | 'skipped' } = {},
): void {
  const entry = record(state, node.id);
  entry.output = output;
  delete entry.error;
  delete entry.handler_retry;
  const status = extra.status ?? 'completed';
  if (node.output !== undefined) {
    state.vars[node.output] = output ?? null;
    // An operator's skip supplies the output itself; an approver's decision is the node's own.
    const skipped = status === 'skipped' && extra.by !== undefined;
    recordNodeWrite(state, node, node.output, now, {
      ...(extra.by === undefined ? {} : { by: extra.by }),
      ...(skipped ? { operator: true, inputs: [] } : {}),
    });
  }
  if (status === 'completed' && node.type === 'task' && node.compensation) {
    state.compensable = state.compensable.filter((id) => id !== node.id);
    state.compensable.push(node.id);
  }
  const { status: _status, ...notes } = extra;
  transition(state, node.id, status, now, notes);
}

/** A new execution key for a node. */
export function newExec(state: RunState, node: string): string {
  return `${node}#${++state.seq}`;
}

export function closeRun(state: RunState, now: string, status: 'completed', result: unknown): void;
export function closeRun(state: RunState, now: string, status: 'failed', error: RunError): void;
export function closeRun(state: RunState, now: string, status: 'cancelled', error: RunError): void;
export function closeRun(
  state: RunState,
  now: string,
  status: 'completed' | 'failed' | 'cancelled',
  payload: unknown,
): void {
  state.status = status;
  runTransition(state, status, now);
  if (status === 'completed') state.result = payload;
  else state.error = payload as RunError;
}
