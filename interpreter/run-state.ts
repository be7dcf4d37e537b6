/**
 * The run's state as the interpreter keeps it, and the contract's view of it (what a state
 * query returns). The state is plain JSON so it can be queried, carried across
 * continue-as-new, and unit-tested without Temporal.
 */
import type { ExternalEvent, WorkCommand } from './commands.js';
import type { Definition } from './definition-schema.js';
import type { QuotaName, RunQuotas } from './quotas.js';
import { resultTainted, taintOf, type Taint } from './taint.js';

export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
/** `cancelled`: the run was cancelled while the node was pending, running or waiting. */
export type NodeStatus = 'pending' | 'running' | 'waiting' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** An error as the language exposes it to error paths (`error` in expressions). */
export interface NodeError {
  type: string;
  message: string;
  node: string;
  attempt?: number;
}

export interface NodeRecord {
  status: NodeStatus;
  attempts: number;
  output?: unknown;
  visits: number;
  error?: NodeError;
  /** AI usage of this node's latest execution. */
  cost?: { usd: number; tokens: { input: number; output: number } };
  /** Set while an error handler's retry of this node is in progress. */
  handler_retry?: string;
  /** The latest execution's output came from the result cache. */
  cached?: boolean;
}

export interface Transition {
  at: string;
  node?: string;
  from?: string;
  to: string;
  by?: string;
  /** The gateway request (and audit log entry) behind an operator's action. */
  request_id?: string;
  note?: string;
}

export interface RunInfo {
  id: string;
  definition_id: string;
  definition_version: string;
  started_at: string;
  /** Who started the run (the gateway's actor); absent for schedules and runs from before it was recorded. */
  started_by?: string;
  /** Set on a run started by retrying a closed failed run: the original's run id. */
  retry_of?: string;
  /** Set on a run started by rerunning a closed run from a node: the original's run id. */
  rerun_of?: string;
}

export interface RunError {
  type: string;
  message: string;
  node?: string;
}

/**
 * Work in flight or a wait in progress. Executions that start work carry the command that
 * starts it, so a continued-as-new run can re-issue work that had not been dispatched yet.
 */
export type Execution =
  | {
      kind: 'work';
      node: string;
      started: number;
      command: WorkCommand;
      map?: { exec: string; index: number };
      compensation?: boolean;
      /** Waiting for a permit of the node's limiter (`resource_limits`: max_concurrency, rate_per_second), with its key. */
      permit?: { key: string | null };
    }
  | {
      kind: 'wait';
      node: string;
      started: number;
      command: WorkCommand;
      /** `yield`: the engine paused a long step (ACTIVATION_LIMITS); `deferred` resumes after it. */
      purpose: 'wait' | 'retry_delay' | 'yield';
    }
  | {
      kind: 'event';
      node: string;
      started: number;
      event_type: string;
      correlation_key: unknown;
      filters?: string;
      timer?: WorkCommand;
    }
  | {
      kind: 'approval';
      node: string;
      started: number;
      approvers?: string[];
      on_timeout: 'approve' | 'reject';
      timer?: WorkCommand;
      /** Approvals so far, while a `quorum` is not reached yet. */
      approvals?: Array<{ by: string; comment: string | null }>;
    }
  | {
      kind: 'map';
      node: string;
      started: number;
      items: unknown[];
      results: unknown[];
      next: number;
      running: number;
      concurrency: number;
    };

/** An arrival at a node along an edge: live (the edge was taken) or dead (it will not be). */
export interface Arrival {
  node: string;
  edge?: number;
  live: boolean;
}

/** Where a variable's value came from, for one write (see `lineage.ts`). */
export interface LineageEntry {
  /** The engine's time of the write (the step's `now`). */
  at: string;
  /** The node that wrote it; absent for the run input and operators' variable patches. */
  node?: string;
  node_type?: string;
  source: 'input' | 'default' | 'node' | 'operator';
  /** The operator (or approver) behind the write. */
  by?: string;
  /** What the value was computed from: `vars.x`, `input.x`, `nodes.a.output`, `event:<type>`. */
  inputs: string[];
  /** The writing node's visit count at the time (loops write once per visit). */
  iteration?: number;
}

/** A variable's writes: the latest `LINEAGE_LIMIT` entries, oldest first, and how many there were. */
export interface VariableLineage {
  writes: number;
  entries: LineageEntry[];
}

export interface RunState {
  run: RunInfo;
  input: Record<string, unknown>;
  vars: Record<string, unknown>;
  nodes: Record<string, NodeRecord>;
  inflight: Record<string, Execution>;
  status: RunStatus;
  /** Why the run is paused. */
  pause_reason?: string;
  history: Transition[];
  /** Transitions dropped from the front of `history` to keep it bounded. */
  history_dropped: number;
  /** Counter for execution keys and "most recently started" ordering. */
  seq: number;
  /** The error in scope on error paths. */
  error_scope?: NodeError;
  /** Tokens per node with several incoming edges, per edge index (dead-path elimination). */
  tokens: Record<string, Record<number, Array<'live' | 'dead'>>>;
  /** Joins that fired in their current generation. */
  joins_fired: Record<string, boolean>;
  /** Nodes whose unhandled failure paused or failed the run (what `retry` and `skip` act on). */
  blocked?: string[];
  /** Live arrivals held while the run is paused. */
  parked: Arrival[];
  /** Arrivals an engine step left for its next activation when it reached ACTIVATION_LIMITS. */
  deferred?: Arrival[];
  /** Nodes an operator skipped before they ran, with the output to use. */
  skip_pending: Record<string, { output: unknown; by: string }>;
  /** Completed nodes that have a compensation, in completion order (for sagas). */
  compensable: string[];
  /** Set while compensations run: the nodes still to compensate and the error to fail with. */
  compensating?: { remaining: string[]; error: RunError };
  /** Set once a `compensate` handler started the saga: the run cannot be retried from its failed node. */
  compensated?: true;
  /** Events that arrived before a node waited for them. */
  event_buffer: ExternalEvent[];
  /** Event ids already seen (bounded), so a redelivery is not consumed twice. */
  seen_event_ids: string[];
  cost: { usd: number; tokens: { input: number; output: number } };
  /** Overrides options.max_cost_usd when an operator raised the budget. */
  max_cost_usd?: number;
  result?: unknown;
  error?: RunError;
  /** Who wrote each variable; absent in states from before lineage was recorded. */
  lineage?: Record<string, VariableLineage>;
  /** The tenant's quotas, pinned when the run started; absent: started without quotas (no run-time checks). */
  quotas?: RunQuotas;
  /** Quotas that refused a node since the workflow last looked (it reports and empties them). */
  quota_refusals?: QuotaName[];
}
/** The history kept in state is bounded; older transitions stay in Temporal's own history. */
export const HISTORY_LIMIT = 1000;

/** What a state query returns: the contract's shape, secrets masked. */
export interface RunStateView {
  workflow_id: string;
  instance_id: string;
  definition_id: string;
  definition_version: string;
  status: RunStatus;
  current_node: string | null;
  active_nodes: string[];
  variables: Record<string, unknown>;
  nodes: Record<
    string,
    {
      status: NodeStatus;
      attempts: number;
      output?: unknown;
      error?: NodeError;
      cost?: { usd: number; tokens: { input: number; output: number } };
      cached?: boolean;
      /** A map node's items: while it runs (from its execution) and once it completed (its results). */
      items?: MapItemsView;
      /** Executions of the node waiting for a permit of its limiter: the first one's key and place in line. */
      permit?: PermitView;
    }
  >;
  history: Transition[];
  cost: { usd: number; tokens: { input: number; output: number } };
  /** While the run waits for a run permit (`options.max_concurrent_runs`) before its first node. */
  queued?: { for: 'options.max_concurrent_runs'; key: string | null; position?: number };
  pause_reason?: string;
  result?: unknown;
  error?: RunError;
  /** The closed run this one retries (`POST /v1/runs/{id}/retry` of a failed run). */
  retry_of?: string;
  /** The closed run this one reruns from a node (`POST /v1/runs/{id}/rerun`). */
  rerun_of?: string;
}

export const MASK = '***';

/** Values shorter than this taken from derived (tainted, not secret) variables are not scrubbed elsewhere: too common. */
const MIN_DERIVED_LENGTH = 4;

/** The values to scrub wherever they occur: secret variables' values, and derived variables' strings. */
function taintedValues(definition: Pick<Definition, 'variables'>, state: RunState, taint: Taint): string[] {
  const secret = new Set(definition.variables.filter((v) => v.secret).map((v) => v.name));
  const values = new Set<string>();
  for (const name of taint.vars) {
    const value = state.vars[name];
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    const text = String(value);
    if (text.length > 0 && (secret.has(name) || (typeof value === 'string' && text.length >= MIN_DERIVED_LENGTH))) {
      values.add(text);
    }
  }
  // Longest first, so a value containing another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of a secret value inside strings of `value` (secrets longest first). */
export function scrub(value: unknown, secrets: string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return secrets.reduce((text, secret) => text.split(secret).join(MASK), value);
  if (typeof value === 'number' && secrets.includes(String(value))) return MASK;
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secrets)]));
  }
  return value;
}

/**
 * The run's result as a reader may see it: masked whole when a tainted end node produced it,
 * else (the run's variables) with every tainted variable masked.
 */
function viewResult(
  definition: Pick<Definition, 'variables' | 'nodes' | 'options'>,
  state: RunState,
  taint: Taint,
  secrets: string[],
): unknown {
  const ended = definition.nodes.filter((n) => n.type === 'end' && state.nodes[n.id]?.status === 'completed');
  if (ended.some((n) => taint.nodes.has(n.id))) return MASK;
  const result = state.result;
  // options.result made it (no end node's own result did): masked whole when it reads a secret.
  if (definition.options.result !== undefined && !ended.some((n) => n.type === 'end' && n.result !== undefined)) {
    return resultTainted(definition) ? MASK : scrub(result, secrets);
  }
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    return Object.fromEntries(
      Object.entries(result).map(([k, v]) => [k, taint.vars.has(k) ? MASK : scrub(v, secrets)]),
    );
  }
  return scrub(result, secrets);
}

/**
 * The executions that stand for a node at work or waiting: not compensations (the saga's, after
 * the run failed) and not the engine's own pauses in a long step (which name a node not started yet).
 */
function nodeExecutions(state: RunState): Execution[] {
  return Object.values(state.inflight).filter(
    (e) => !(e.kind === 'work' && e.compensation === true) && !(e.kind === 'wait' && e.purpose === 'yield'),
  );
}

/** The most recently started node that is still active (running or waiting), or null when none is. */
export function currentNode(state: RunState): string | null {
  let latest: Execution | undefined;
  for (const execution of nodeExecutions(state)) if (!latest || execution.started > latest.started) latest = execution;
  return latest?.node ?? null;
}

/**
 * The state view while the workflow has not returned yet: a run whose graph completed or failed
 * still reads "running" (with no result or error yet), so the state never says closed while
 * Temporal says RUNNING. Answered by the query only: nothing in the history changes.
 */
export function untilReturned(view: RunStateView, returned: boolean): RunStateView {
  if (returned || (view.status !== 'completed' && view.status !== 'failed')) return view;
  const { result: _result, error: _error, ...open } = view;
  return { ...open, status: 'running' };
}

/**
 * Builds the contract's state view from the interpreter state. Secret variables and everything
 * derived from them (`taint.ts`) are masked: tainted variables, the outputs and error messages
 * of tainted nodes, the result they make, and their values wherever else they appear.
 */
/** What the state view shows of a node's executions waiting for a permit (`resource_limits`: max_concurrency, rate_per_second). */
export interface PermitView {
  key: string | null;
  /** 1: next in line; absent until the limiter told the run. */
  position?: number;
  /** How many executions of the node in this run wait (items of a map). */
  waiting: number;
}

/**
 * A map node's item counts. `completed`: items whose body returned; `running`: in flight now;
 * `failed`: items that failed (a failed item ends the map at once, so 0 while it runs).
 */
export interface MapItemsView {
  total: number;
  completed: number;
  running: number;
  failed: number;
}

/** The item counts of map nodes: in-flight maps from their execution, completed ones from their results. */
function mapItems(definition: Pick<Definition, 'nodes'>, state: RunState): Map<string, MapItemsView> {
  const counts = new Map<string, MapItemsView>();
  for (const node of definition.nodes) {
    const record = state.nodes[node.id];
    if (node.type === 'map' && record?.status === 'completed' && Array.isArray(record.output)) {
      const total = record.output.length;
      counts.set(node.id, { total, completed: total, running: 0, failed: 0 });
    }
  }
  for (const execution of Object.values(state.inflight)) {
    if (execution.kind !== 'map') continue;
    const total = execution.items.length;
    counts.set(execution.node, {
      total,
      completed: execution.next - execution.running,
      running: execution.running,
      failed: 0,
    });
  }
  return counts;
}

/**
 * The contract's view of the run state. `permits`: the executions (by exec id) the workflow
 * knows to be waiting for a permit of their node's limiter, with their key and place in line
 * (the node itself is `waiting` in the state: `permitWaiting` in engine.ts).
 */
export function viewRunState(
  definition: Pick<Definition, 'variables' | 'nodes' | 'options'>,
  state: RunState,
  ids: { workflow_id: string; instance_id: string },
  permits?: ReadonlyMap<string, { key: string | null; position?: number }>,
): RunStateView {
  const taint = taintOf(definition);
  const secrets = taintedValues(definition, state, taint);
  const variables = Object.fromEntries(
    Object.entries(state.vars).map(([name, value]) => [name, taint.vars.has(name) ? MASK : scrub(value, secrets)]),
  );
  const secretOutputs = new Set([
    ...taint.nodes,
    ...definition.nodes.filter((n) => n.output !== undefined && taint.vars.has(n.output)).map((n) => n.id),
  ]);
  const nodes: RunStateView['nodes'] = {};
  const items = mapItems(definition, state);
  for (const [id, record] of Object.entries(state.nodes)) {
    const entry: RunStateView['nodes'][string] = { status: record.status, attempts: record.attempts };
    if (record.cost) entry.cost = record.cost;
    if (record.cached) entry.cached = true;
    const counts = items.get(id);
    if (counts) entry.items = counts;
    if (record.output !== undefined) entry.output = secretOutputs.has(id) ? MASK : scrub(record.output, secrets);
    if (record.error) {
      const error = scrub(record.error, secrets) as NodeError;
      entry.error = taint.nodes.has(id) ? { ...error, message: MASK } : error;
    }
    nodes[id] = entry;
  }
  for (const [exec, wait] of permits ?? []) {
    const node = state.inflight[exec]?.node;
    const entry = node === undefined ? undefined : nodes[node];
    if (!entry) continue;
    if (entry.permit) {
      entry.permit.waiting++;
      continue;
    }
    const key = wait.key !== null && taint.nodes.has(node as string) ? MASK : wait.key;
    entry.permit = { key, ...(wait.position === undefined ? {} : { position: wait.position }), waiting: 1 };
  }
  const active = [...new Set(nodeExecutions(state).map((e) => e.node))];
  const view: RunStateView = {
    workflow_id: ids.workflow_id,
    instance_id: ids.instance_id,
    definition_id: state.run.definition_id,
    definition_version: state.run.definition_version,
    status: state.status,
    current_node: currentNode(state),
    active_nodes: active,
    variables,
    nodes,
    history: (scrub(state.history, secrets) as Transition[]).map((t) =>
      t.note !== undefined && t.node !== undefined && taint.nodes.has(t.node) ? { ...t, note: MASK } : t,
    ),
    cost: { usd: state.cost.usd, tokens: { ...state.cost.tokens } },
  };
  if (state.pause_reason !== undefined && state.status === 'paused') {
    const failed = /^node "([^"]+)" failed: /.exec(state.pause_reason);
    view.pause_reason =
      failed?.[1] !== undefined && taint.nodes.has(failed[1])
        ? `${failed[0]}${MASK}`
        : (scrub(state.pause_reason, secrets) as string);
  }
  if (state.run.retry_of !== undefined) view.retry_of = state.run.retry_of;
  if (state.run.rerun_of !== undefined) view.rerun_of = state.run.rerun_of;
  if (state.result !== undefined) view.result = viewResult(definition, state, taint, secrets);
  if (state.error) {
    const error = scrub(state.error, secrets) as RunError;
    view.error = error.node !== undefined && taint.nodes.has(error.node) ? { ...error, message: MASK } : error;
  }
  return view;
}
