/**
 * What operators and the outside world can do to a running run: pause, resume, cancel,
 * retry, skip, set variables, decide approvals, and deliver events. `checkControl` answers
 * whether an action would be accepted without changing anything (Temporal update validators
 * run it); `applyControl` carries it out. Every accepted action lands in the run's history.
 */
import { decisionRefusal, recordDecision } from './approvals.js';
import type { Command, ExternalEvent } from './commands.js';
import type { Definition } from './definition-schema.js';
import { toPointer, type Problem } from './problems.js';
import { advance, EVENT_BUFFER_LIMIT, eventMatches, refusedWrite, stateFailure, writeOf } from './engine.js';
import { onFailure } from './failures.js';
import { refillMaps } from './map-node.js';
import { leave } from './flow.js';
import { recordWrite } from './lineage.js';
import { stateRefusal } from './state-size.js';
import { matchesType } from './run-input.js';
import type { Arrival, RunState } from './run-state.js';
import {
  closeRun,
  compileProgram,
  completeNode,
  isClosed,
  record,
  runTransition,
  transition,
  type Program,
} from './state-ops.js';
import { blockedFailures, repeatedBy, rerunRefusal, resetForRerun, upgradeRefusal } from './run-surgery.js';

/** Who acts, and the id of the gateway request that carried the action (its audit log entry). */
interface Actor {
  by: string;
  request_id?: string;
}

/**
 * A retry or rerun of a paused run may name another version of its definition (`definition`,
 * sent whole by the gateway: workflow code never reads the store). The run then continues as new
 * on it (`workflows/interpret.ts`) and the action is applied there.
 */
type VersionedDefinition = Definition & { version: string };

export type ControlAction = Actor &
  (
    | { type: 'pause'; reason?: string }
    | { type: 'resume'; max_cost_usd?: number }
    | { type: 'cancel'; reason?: string }
    | { type: 'retry'; node?: string; definition?: VersionedDefinition }
    | { type: 'rerun'; from: string; variables?: Record<string, unknown>; definition?: VersionedDefinition }
    | { type: 'skip'; node: string; output?: unknown }
    | { type: 'set_variables'; variables: Record<string, unknown> }
    | { type: 'approve'; node: string; approved: boolean; comment?: string; roles?: string[] }
  );

/** A run's failed nodes that nothing handled (those an operator can retry or skip). */
export function failedNodes(state: RunState): string[] {
  if (state.status !== 'paused') return [];
  return blockedFailures(state);
}

function waitingExec(state: RunState, node: string): string | undefined {
  return Object.entries(state.inflight).find(
    ([, e]) =>
      e.node === node &&
      (e.kind === 'event' ||
        e.kind === 'approval' ||
        (e.kind === 'wait' && e.purpose === 'wait') ||
        (e.kind === 'work' && e.permit !== undefined && !e.map)),
  )?.[0];
}

/**
 * The executions of a running node: its calls, child runs, map items and the delay before a
 * handler's retry (never a compensation, which undoes another node's work, nor the engine's own
 * pause in a long step, which carries other arrivals).
 */
function runningExecs(state: RunState, node: string): string[] {
  return Object.entries(state.inflight)
    .filter(
      ([, e]) =>
        e.node === node &&
        ((e.kind === 'work' && e.compensation !== true) ||
          e.kind === 'map' ||
          (e.kind === 'wait' && e.purpose === 'retry_delay')),
    )
    .map(([exec]) => exec);
}

/** Names a variable may be set under: declared ones, and the implicit ones nodes write. */
function settable(program: Program): Map<string, string> {
  const types = new Map<string, string>(program.definition.variables.map((v) => [v.name, v.type]));
  for (const node of program.definition.nodes) {
    if (node.output !== undefined && !types.has(node.output)) types.set(node.output, 'any');
    if (node.type === 'set') for (const name of Object.keys(node.assign)) if (!types.has(name)) types.set(name, 'any');
  }
  return types;
}

/**
 * What is wrong with variables an operator sets (a patch, a rerun's overrides): each unknown name
 * or value not of its declared type, with the JSON Pointer of the value under `/variables`.
 */
export function variableRefusals(program: Program, variables: Record<string, unknown>): Problem[] {
  const types = settable(program);
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(variables)) {
    const type = types.get(name);
    const path = toPointer(['variables', name]);
    if (!type) problems.push({ path, message: `unknown variable "${name}"` });
    else if (value !== null && !matchesType(type as 'any', value))
      problems.push({ path, message: `expected ${type} for variable "${name}"` });
  }
  return problems;
}

/** The other version a retry or rerun moves the run to; undefined when it stays on its own. */
export function upgradeOf(state: RunState, action: ControlAction): VersionedDefinition | undefined {
  if (action.type !== 'retry' && action.type !== 'rerun') return undefined;
  const to = action.definition;
  return to === undefined || to.version === state.run.definition_version ? undefined : to;
}

/** Why the action would be refused, or undefined when it would be accepted. Changes nothing. */
export function checkControl(program: Program, state: RunState, action: ControlAction): string | undefined {
  if (isClosed(state.status)) return `the run is ${state.status}`;
  switch (action.type) {
    case 'pause':
      return state.status === 'paused' ? 'the run is already paused' : undefined;
    case 'resume': {
      if (state.status !== 'paused') return 'the run is not paused';
      const failed = failedNodes(state);
      if (failed.length > 0) return `node(s) ${failed.join(', ')} failed: retry or skip them instead`;
      return undefined;
    }
    case 'cancel':
      return undefined;
    case 'retry': {
      const failed = failedNodes(state);
      if (failed.length === 0) return 'no failed node to retry (only a paused run with a failed node can be retried)';
      if (action.node !== undefined && !failed.includes(action.node)) {
        return `node "${action.node}" has not failed; failed: ${failed.join(', ')}`;
      }
      const nodes = action.node === undefined ? failed : [action.node];
      const to = upgradeOf(state, action);
      if (!to) return undefined;
      const named = nodes.map((node) => ({ node, path: action.node === undefined ? '/version' : '/node' }));
      return upgradeRefusal(program.definition, to, state, named, repeatedBy(to, { type: 'retry', nodes }));
    }
    case 'skip': {
      const entry = state.nodes[action.node];
      if (!program.nodes.has(action.node) || !entry) return `no node "${action.node}"`;
      if (entry.status === 'failed' && failedNodes(state).includes(action.node)) return undefined;
      if (entry.status === 'waiting' && waitingExec(state, action.node)) return undefined;
      if (entry.status === 'pending' && !state.skip_pending[action.node]) return undefined;
      if (entry.status === 'running' && runningExecs(state, action.node).length > 0) return undefined;
      return `node "${action.node}" is ${entry.status}; only a pending, running, waiting or failed node can be skipped`;
    }
    case 'set_variables':
      if (Object.keys(action.variables).length === 0) return 'no variables given';
      return variableRefusals(program, action.variables)[0]?.message;
    case 'rerun': {
      const to = upgradeOf(state, action);
      const target = to ? compileProgram(to) : program;
      const refused =
        rerunRefusal(target, state, action.from) ?? variableRefusals(target, action.variables ?? {})[0]?.message;
      if (refused || !to) return refused;
      const named = [{ node: action.from, path: '/from' }];
      return upgradeRefusal(program.definition, to, state, named, repeatedBy(to, action));
    }
    case 'approve': {
      const exec = waitingExec(state, action.node);
      const execution = exec === undefined ? undefined : state.inflight[exec];
      const node = program.nodes.get(action.node);
      if (execution?.kind !== 'approval' || node?.type !== 'approval')
        return `node "${action.node}" is not waiting for an approval`;
      return decisionRefusal(state, node, execution, action);
    }
  }
}

/** Carries out an accepted action; returns the commands that follow. */
export async function applyControl(
  program: Program,
  state: RunState,
  action: ControlAction,
  now: string,
): Promise<Command[]> {
  const refused = checkControl(program, state, action);
  // A move to another version is the workflow's (it continues as new there); never stepped here.
  if (refused || upgradeOf(state, action)) return [];
  const commands: Command[] = [];
  const by = { by: action.by, ...(action.request_id === undefined ? {} : { request_id: action.request_id }) };
  switch (action.type) {
    case 'pause':
      state.status = 'paused';
      state.pause_reason = action.reason ?? `paused by ${action.by}`;
      runTransition(state, 'paused', now, { ...by, note: state.pause_reason });
      return [];
    case 'resume': {
      if (action.max_cost_usd !== undefined) state.max_cost_usd = action.max_cost_usd;
      return resume(program, state, now, [], commands, { ...by, note: 'resumed' });
    }
    case 'cancel':
      cancelNodes(state, now, by);
      closeRun(state, now, 'cancelled', { type: 'Cancelled', message: action.reason ?? `cancelled by ${action.by}` });
      state.history[state.history.length - 1] = {
        ...(state.history[state.history.length - 1] as RunState['history'][number]),
        ...by,
      };
      return advance(program, state, now, [], commands);
    case 'retry': {
      const nodes = action.node === undefined ? failedNodes(state) : [action.node];
      for (const id of nodes) delete record(state, id).handler_retry;
      runTransition(state, 'retrying', now, { ...by, note: nodes.join(', ') });
      return resume(
        program,
        state,
        now,
        nodes.map((node) => ({ node, live: true })),
        commands,
      );
    }
    case 'skip':
      return skip(program, state, action, now, commands);
    case 'rerun': {
      for (const exec of resetForRerun(program, state, action.from, { by: action.by, now }))
        commands.push({ type: 'cancel', exec });
      if (action.variables) {
        Object.assign(state.vars, action.variables);
        for (const name of Object.keys(action.variables))
          recordWrite(state, name, { at: now, source: 'operator', by: action.by, inputs: [] });
      }
      runTransition(state, 'rerun', now, { ...by, note: `from ${action.from}` });
      return resume(program, state, now, [{ node: action.from, live: true }], commands, {
        by: action.by,
        note: 'resumed',
      });
    }
    case 'set_variables':
      Object.assign(state.vars, action.variables);
      for (const name of Object.keys(action.variables))
        recordWrite(state, name, { at: now, source: 'operator', by: action.by, inputs: [] });
      runTransition(state, 'variables_set', now, { ...by, note: Object.keys(action.variables).join(', ') });
      return [];
    case 'approve':
      return approve(program, state, action, now, commands, by);
  }
}

async function approve(
  program: Program,
  state: RunState,
  action: Extract<ControlAction, { type: 'approve' }>,
  now: string,
  commands: Command[],
  by: { by: string; request_id?: string },
): Promise<Command[]> {
  const exec = waitingExec(state, action.node) as string;
  const execution = state.inflight[exec];
  const node = program.nodes.get(action.node);
  if (execution?.kind !== 'approval' || node?.type !== 'approval') return [];
  const decision = recordDecision(node, execution, action);
  if (decision === undefined) {
    // Short of the quorum: the node keeps waiting, and the approval is in its history.
    const count = execution.approvals?.length ?? 0;
    transition(state, node.id, 'waiting', now, { ...by, note: `approved (${count} of ${node.quorum ?? 1})` });
    return [];
  }
  delete state.inflight[exec];
  if (execution.timer) commands.push({ type: 'cancel', exec });
  if (action.approved) {
    completeNode(state, node, decision, now, { ...by, note: 'approved' });
    return advance(program, state, now, await leave(program, state, node.id, 'success'), commands);
  }
  record(state, node.id).output = decision;
  const error = {
    type: 'Rejected',
    message: `rejected by ${action.by}${action.comment ? `: ${action.comment}` : ''}`,
    node: node.id,
  };
  return advance(program, state, now, await onFailure(program, state, node, error, now, commands), commands);
}

/** Nodes that had not settled when the run was cancelled: they never will, so they show `cancelled`. */
function cancelNodes(state: RunState, now: string, by: { by: string; request_id?: string }): void {
  for (const [id, entry] of Object.entries(state.nodes)) {
    if (entry.status === 'pending' || entry.status === 'running' || entry.status === 'waiting')
      transition(state, id, 'cancelled', now, { ...by, note: 'the run was cancelled' });
  }
}

async function resume(
  program: Program,
  state: RunState,
  now: string,
  arrivals: Arrival[],
  commands: Command[],
  transitionNote?: { by: string; note: string },
): Promise<Command[]> {
  state.status = 'running';
  delete state.pause_reason;
  if (transitionNote) runTransition(state, 'running', now, transitionNote);
  const parked = state.parked.splice(0);
  commands.push(...(await refillMaps(program, state, now)));
  return advance(program, state, now, [...arrivals, ...parked], commands);
}

async function skip(
  program: Program,
  state: RunState,
  action: Extract<ControlAction, { type: 'skip' }>,
  now: string,
  commands: Command[],
): Promise<Command[]> {
  const node = program.nodes.get(action.node);
  const entry = state.nodes[action.node];
  if (!node || !entry) return [];
  const output = action.output ?? null;
  const note = { by: action.by, note: 'skipped by an operator', status: 'skipped' as const };
  if (entry.status === 'pending') {
    state.skip_pending[action.node] = { output, by: action.by };
    runTransition(state, 'skip_scheduled', now, { by: action.by, note: action.node });
    return [];
  }
  if (entry.status === 'waiting' || entry.status === 'running') {
    const execs =
      entry.status === 'waiting' ? [waitingExec(state, action.node) as string] : runningExecs(state, node.id);
    for (const exec of execs) {
      // A map's own execution has no work of its own to cancel: its items do.
      if (state.inflight[exec]?.kind !== 'map') commands.push({ type: 'cancel', exec });
      delete state.inflight[exec];
    }
    completeNode(state, node, output, now, note);
    return advance(program, state, now, await leave(program, state, node.id, 'success'), commands);
  }
  completeNode(state, node, output, now, note);
  const next = await leave(program, state, node.id, 'success');
  if (failedNodes(state).length > 0) {
    return advance(program, state, now, next, commands);
  }
  return resume(program, state, now, next, commands);
}

export type DeliveryStatus = 'delivered' | 'buffered' | 'duplicate' | 'ignored';

/** Delivers an external event: to the first waiting node it matches, or into the buffer. */
export async function deliverEvent(
  program: Program,
  state: RunState,
  event: ExternalEvent,
  now: string,
): Promise<{ status: DeliveryStatus; commands: Command[] }> {
  if (isClosed(state.status)) return { status: 'ignored', commands: [] };
  if (event.event_id !== undefined) {
    if (state.seen_event_ids.includes(event.event_id)) return { status: 'duplicate', commands: [] };
    state.seen_event_ids.push(event.event_id);
    if (state.seen_event_ids.length > 1_000) state.seen_event_ids.shift();
  }
  const waiting = Object.entries(state.inflight)
    .filter(([, e]) => e.kind === 'event')
    .sort(([, a], [, b]) => a.started - b.started);
  for (const [exec, execution] of waiting) {
    if (execution.kind !== 'event' || !(await eventMatches(state, execution, event, program.keylessOnly))) continue;
    delete state.inflight[exec];
    const commands: Command[] = execution.timer ? [{ type: 'cancel', exec }] : [];
    const node = program.nodes.get(execution.node);
    if (!node) continue;
    // A payload too large for the state fails the waiting node (the event counts as delivered).
    const tooLarge = refusedWrite(program, state, node, writeOf(node, event.payload ?? null));
    if (tooLarge) {
      const next = await stateFailure(program, state, node, tooLarge, now, commands);
      return { status: 'delivered', commands: await advance(program, state, now, next, commands) };
    }
    completeNode(state, node, event.payload ?? null, now);
    const next = await leave(program, state, node.id, 'success');
    return { status: 'delivered', commands: await advance(program, state, now, next, commands) };
  }
  const expects = program.definition.nodes.some((n) => n.type === 'event' && n.event_type === event.event_type);
  if (!expects) return { status: 'ignored', commands: [] };
  // No node waits for it yet and keeping it would take the state over its bound: not kept.
  if (stateRefusal(state, 'event_buffer', { buffer: event }, program.stateBound))
    return { status: 'ignored', commands: [] };
  state.event_buffer.push(event);
  if (state.event_buffer.length > EVENT_BUFFER_LIMIT) state.event_buffer.shift();
  return { status: 'buffered', commands: [] };
}
