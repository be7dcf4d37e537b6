/**
 * Run surgery: what a rerun from a node repeats, the state a closed run is reopened with (for a
 * retry or a rerun), and whether a run's state can go on under another version of its
 * definition, node state mapped by node id. Pure functions over plain data: the gateway asks
 * them before it starts a linked run, `control.ts` carries a rerun out inside the run.
 */
import type { Definition, Edge } from './definition-schema.js';
import { downstreamNodes } from './graph.js';
import type { Problem } from './problems.js';
import { recordWrite } from './lineage.js';
import { matchesType, resolveRunInput } from './run-input.js';
import type { RunState } from './run-state.js';
import { runTransition, type Program } from './state-ops.js';

/** A node the operator names (`from` of a rerun, `node` of a retry), with the field that named it. */
export interface NamedNode {
  node: string;
  path: string;
}

const edgeKey = (edge: Edge): string => `${edge.from}\n${edge.to}\n${edge.on}`;
const edgeText = (edge: Edge): string => `${edge.from} → ${edge.to}${edge.on === 'error' ? ' (on error)' : ''}`;

/** The run's unhandled failures (what `retry` and `skip` act on), in a paused or a reopened state. */
export function blockedFailures(state: RunState): string[] {
  return (state.blocked ?? []).filter((id) => state.nodes[id]?.status === 'failed');
}

/**
 * Why `state` cannot go on under version `after` of its definition (recorded under `before`):
 * every problem, each naming the node, edge or variable and what blocks it. `named` are the nodes
 * the operator asked for; `repeated` the nodes whose state the action resets anyway (a rerun's
 * nodes from `from` on), so what they held does not matter. Empty: the state can be moved.
 */
export function versionProblems(
  before: Pick<Definition, 'nodes' | 'edges' | 'variables'>,
  after: Pick<Definition, 'nodes' | 'edges' | 'variables'> & { version: string },
  state: RunState,
  named: NamedNode[],
  repeated: ReadonlySet<string> = new Set(),
): Problem[] {
  const problems: Problem[] = [];
  const v = `version ${after.version}`;
  const beforeNodes = new Map(before.nodes.map((n) => [n.id, n]));
  const afterNodes = new Map(after.nodes.map((n) => [n.id, n]));
  for (const { node, path } of named) {
    if (!afterNodes.has(node)) problems.push({ path, message: `${v} has no node "${node}"` });
  }
  const failed = new Set(blockedFailures(state));
  const active = new Set(Object.values(state.inflight).map((e) => e.node));
  for (const [id, entry] of Object.entries(state.nodes)) {
    const why =
      active.has(id) || entry.status === 'running' || entry.status === 'waiting'
        ? entry.status
        : failed.has(id)
          ? 'failed'
          : undefined;
    const isNamed = named.some((n) => n.node === id);
    if (why === undefined && !isNamed) continue;
    const next = afterNodes.get(id);
    if (!next) {
      if (!isNamed)
        problems.push({ path: '/version', message: `node "${id}" is ${why} in the run and ${v} has no node "${id}"` });
      continue;
    }
    const previous = beforeNodes.get(id);
    if (previous && previous.type !== next.type && !repeated.has(id) && why !== undefined)
      problems.push({
        path: '/version',
        message: `node "${id}" is ${why} in the run as a ${previous.type} node; in ${v} it is a ${next.type} node`,
      });
  }
  variableProblems(before, after, state, problems);
  tokenProblems(before, after, state, repeated, problems);
  return problems;
}

function variableProblems(
  before: Pick<Definition, 'variables'>,
  after: Pick<Definition, 'variables'> & { version: string },
  state: RunState,
  problems: Problem[],
): void {
  const v = `version ${after.version}`;
  const previous = new Map(before.variables.map((d) => [d.name, d]));
  after.variables.forEach((declared, index) => {
    const path = '/version';
    const old = previous.get(declared.name);
    if (old && old.type !== declared.type) {
      problems.push({
        path,
        message: `variable "${declared.name}" is declared ${old.type} in the run's version and ${declared.type} in ${v} (variables/${index})`,
      });
      return;
    }
    if (old?.secret === true && declared.secret !== true) {
      problems.push({
        path,
        message: `variable "${declared.name}" is secret in the run's version and not in ${v}: its value would be shown`,
      });
    }
    const has = Object.hasOwn(state.vars, declared.name);
    const value = state.vars[declared.name];
    if (has && value !== null && !matchesType(declared.type, value)) {
      problems.push({
        path,
        message: `variable "${declared.name}" holds ${kindOf(value)}; ${v} declares it ${declared.type}`,
      });
    } else if (!has && declared.required === true && declared.default === undefined) {
      problems.push({
        path,
        message: `${v} requires variable "${declared.name}", which the run does not have (give it in "variables")`,
      });
    }
  });
}

const kindOf = (value: unknown): string =>
  Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;

/**
 * Arrivals a join holds are kept per incoming edge: each must be an edge of the new version too,
 * and the new version may not add an incoming edge from a node that already ran (its arrival
 * would never come, and the join would wait for ever).
 */
function tokenProblems(
  before: Pick<Definition, 'edges'>,
  after: Pick<Definition, 'edges'> & { version: string },
  state: RunState,
  repeated: ReadonlySet<string>,
  problems: Problem[],
): void {
  const v = `version ${after.version}`;
  const afterKeys = new Set(after.edges.map(edgeKey));
  for (const [node, byEdge] of Object.entries(state.tokens)) {
    if (repeated.has(node) || state.joins_fired[node]) continue;
    const held = Object.entries(byEdge).filter(([, tokens]) => tokens.length > 0);
    if (held.length === 0) continue;
    for (const [index] of held) {
      const edge = before.edges[Number(index)];
      if (edge && !afterKeys.has(edgeKey(edge)))
        problems.push({
          path: '/version',
          message: `node "${node}" holds an arrival along the edge ${edgeText(edge)}, which ${v} does not have`,
        });
    }
    const beforeKeys = new Set(before.edges.map(edgeKey));
    for (const edge of after.edges) {
      if (edge.to !== node || beforeKeys.has(edgeKey(edge))) continue;
      const status = state.nodes[edge.from]?.status;
      if (status !== undefined && status !== 'pending' && !repeated.has(edge.from))
        problems.push({
          path: '/version',
          message: `node "${node}" waits for its incoming branches and ${v} adds the edge ${edgeText(edge)} from a node that already ran (${status}): that arrival would never come`,
        });
    }
  }
}

/**
 * Moves a state onto version `after` (only once `versionProblems` found none): records of nodes
 * it does not have are dropped, arrivals held per edge follow their edge to its new index.
 */
export function moveToVersion(
  before: Pick<Definition, 'edges'>,
  after: Pick<Definition, 'nodes' | 'edges'> & { version: string },
  state: RunState,
): void {
  const ids = new Set(after.nodes.map((n) => n.id));
  const index = new Map(after.edges.map((edge, i) => [edgeKey(edge), i]));
  for (const id of Object.keys(state.nodes)) if (!ids.has(id)) delete state.nodes[id];
  const tokens: RunState['tokens'] = {};
  for (const [node, byEdge] of Object.entries(state.tokens)) {
    if (!ids.has(node)) continue;
    tokens[node] = {};
    for (const [i, held] of Object.entries(byEdge)) {
      const edge = before.edges[Number(i)];
      const moved = edge === undefined ? undefined : index.get(edgeKey(edge));
      if (moved !== undefined) tokens[node][moved] = held;
    }
  }
  state.tokens = tokens;
  for (const id of Object.keys(state.joins_fired)) if (!ids.has(id)) delete state.joins_fired[id];
  for (const id of Object.keys(state.skip_pending)) if (!ids.has(id)) delete state.skip_pending[id];
  state.compensable = state.compensable.filter((id) => ids.has(id));
  state.blocked = (state.blocked ?? []).filter((id) => ids.has(id));
  state.run.definition_version = after.version;
}

/** The nodes a retry (of `nodes`) or a rerun (from `from`) repeats under `definition`. */
export function repeatedBy(
  definition: Pick<Definition, 'edges'>,
  action: { type: 'rerun'; from: string } | { type: 'retry'; nodes: string[] },
): Set<string> {
  return action.type === 'rerun' ? downstreamNodes(definition, action.from) : new Set(action.nodes);
}

/**
 * Why a paused run cannot move to version `to` for a retry or rerun, or undefined: the state's
 * problems with the version (as `versionProblems`), or work still running outside what the
 * action repeats (the run continues as new on the version, and would start that work again).
 */
export function upgradeRefusal(
  before: Pick<Definition, 'nodes' | 'edges' | 'variables'>,
  to: Pick<Definition, 'nodes' | 'edges' | 'variables'> & { version: string },
  state: RunState,
  named: NamedNode[],
  repeated: ReadonlySet<string>,
): string | undefined {
  const problems = versionProblems(before, to, state, named, repeated);
  if (problems.length > 0)
    return `version ${to.version} cannot take the run's state: ${problems.map((p) => p.message).join('; ')}`;
  const busy = new Set<string>();
  for (const e of Object.values(state.inflight))
    if ((e.kind === 'work' || e.kind === 'map') && !repeated.has(e.node)) busy.add(e.node);
  if (busy.size > 0)
    return `node(s) ${[...busy].join(', ')} still run: a paused run moves to another version only once nothing runs outside what the action repeats; wait for them to finish`;
  return undefined;
}

/** How a closed run goes on in a new, linked run. */
export type Reopening = 'retry' | 'rerun';

/**
 * The state a closed run goes on from in a new linked run: its variables and node records, paused
 * with nothing in flight, and a `retry_of` / `rerun_of` transition naming the original. A retry
 * needs a failed run that failed at a node; a rerun any closed run. Neither takes a compensated
 * run (its completed steps were undone).
 */
export function reopenedState(
  state: RunState,
  runId: string,
  kind: Reopening,
  by: string,
  now: string,
): { state: RunState } | { refused: string } {
  if (kind === 'retry' && state.status !== 'failed')
    return { refused: `the run is ${state.status}; only a failed run can be retried` };
  if (state.status !== 'failed' && state.status !== 'completed' && state.status !== 'cancelled')
    return { refused: `the run is ${state.status}` };
  // Asked first: a compensated run has no blocked node, and "did not fail at a node" would hide why.
  // States from before `compensated` was kept say it in their (bounded) history only.
  if (state.compensated === true || state.history.some((h) => h.to === 'compensating')) {
    const failedAt = state.error?.node === undefined ? '' : ` after node "${state.error.node}" failed`;
    return {
      refused: `the run was compensated${failedAt}: its completed steps were undone, so it cannot go on from where it failed; start a new run instead`,
    };
  }
  const blocked = blockedFailures(state);
  if (kind === 'retry' && blocked.length === 0)
    return { refused: 'the run did not fail at a node that can be retried' };
  const next: RunState = JSON.parse(JSON.stringify(state)) as RunState;
  next.status = 'paused';
  next.pause_reason = `${kind} of ${runId}`;
  next.inflight = {};
  next.parked = [];
  next.blocked = blocked;
  delete next.deferred;
  delete next.error;
  delete next.result;
  delete next.compensating;
  delete next.error_scope;
  next.run[kind === 'retry' ? 'retry_of' : 'rerun_of'] = runId;
  runTransition(next, `${kind}_of`, now, { by, note: runId });
  return { state: next };
}

/**
 * Why a rerun from `from` would be refused in this (paused or reopened) state, or undefined.
 * Nodes outside what it repeats must not need anything: no unhandled failure, and none cut off
 * (running or waiting with nothing in flight, or cancelled with the run).
 */
export function rerunRefusal(program: Program, state: RunState, from: string): string | undefined {
  if (!program.nodes.has(from)) return `no node "${from}"`;
  if (state.status !== 'paused')
    return `the run is ${state.status}: a rerun repeats nodes of a paused or closed run; pause it first`;
  if (state.compensating || state.compensated === true)
    return 'the run was compensated: its completed steps were undone; start a new run instead';
  const repeated = downstreamNodes(program.definition, from);
  const failed = blockedFailures(state).filter((id) => !repeated.has(id));
  if (failed.length > 0)
    return `node(s) ${failed.join(', ')} failed and a rerun from "${from}" does not repeat them: retry or skip them, or rerun from a node before them`;
  const live = new Set(Object.values(state.inflight).map((e) => e.node));
  const cut = Object.entries(state.nodes)
    .filter(([id]) => !repeated.has(id) && !live.has(id))
    .filter(([, entry]) => entry.status === 'running' || entry.status === 'waiting' || entry.status === 'cancelled')
    .map(([id, entry]) => `${id} (${entry.status})`);
  if (cut.length > 0)
    return `node(s) ${cut.join(', ')} did not finish before the run closed and a rerun from "${from}" does not repeat them; rerun from a node before them`;
  return undefined;
}

/**
 * Variables that only the repeated nodes wrote (by their complete lineage) go back to their value
 * at the start of the run (input or default; absent when they had none), so the rerun sees them
 * as those nodes first did. Variables an operator or another node wrote, or whose older writes
 * the bounded lineage dropped, keep their value. Each reset is recorded as the operator's write.
 */
function restoreVariables(
  program: Program,
  state: RunState,
  repeated: ReadonlySet<string>,
  actor: { by: string; now: string },
): void {
  const start = resolveRunInput(program.definition, state.input);
  if (!start.ok) return;
  for (const [name, lineage] of Object.entries(state.lineage ?? {})) {
    if (lineage.entries.length !== lineage.writes) continue;
    const byNodes = lineage.entries.filter((e) => e.source === 'node');
    const others = lineage.entries.some(
      (e) => e.source === 'operator' || (e.source === 'node' && !repeated.has(e.node ?? '')),
    );
    if (byNodes.length === 0 || others) continue;
    if (Object.hasOwn(start.variables, name)) state.vars[name] = start.variables[name];
    else delete state.vars[name];
    recordWrite(state, name, { at: actor.now, source: 'operator', by: actor.by, inputs: [] });
  }
}

/**
 * Resets the nodes a rerun from `from` repeats: their records start afresh (pending, no output,
 * no visits), arrivals held for them are dropped, the variables only they wrote go back to their
 * start value, and their executions in flight are returned for the caller to cancel.
 */
export function resetForRerun(
  program: Program,
  state: RunState,
  from: string,
  actor: { by: string; now: string },
): string[] {
  const repeated = downstreamNodes(program.definition, from);
  restoreVariables(program, state, repeated, actor);
  const cancelled: string[] = [];
  for (const [exec, execution] of Object.entries(state.inflight)) {
    // The engine's pause in a long step carries arrivals of other nodes too (filtered below).
    if (!repeated.has(execution.node) || (execution.kind === 'wait' && execution.purpose === 'yield')) continue;
    delete state.inflight[exec];
    cancelled.push(exec);
  }
  for (const id of repeated) {
    if (!program.nodes.has(id)) continue;
    state.nodes[id] = { status: 'pending', attempts: 0, visits: 0 };
    delete state.tokens[id];
    delete state.joins_fired[id];
    delete state.skip_pending[id];
  }
  state.compensable = state.compensable.filter((id) => !repeated.has(id));
  state.blocked = (state.blocked ?? []).filter((id) => !repeated.has(id));
  state.parked = state.parked.filter((arrival) => !repeated.has(arrival.node));
  if (state.deferred) state.deferred = state.deferred.filter((arrival) => !repeated.has(arrival.node));
  delete state.error_scope;
  return cancelled;
}
