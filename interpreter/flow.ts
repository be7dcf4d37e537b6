/**
 * How control moves along edges: which edges a finished node takes, and what an arrival does
 * at a node with several incoming edges. Edges not taken carry a *dead* token, so a `join`
 * knows a branch will not come (dead-path elimination) instead of waiting for it forever.
 */
import type { NodeOf } from './definition-schema.js';
import { NeedsAsync, evaluate, evaluateSync, isTruthy } from './expressions.js';
import type { Arrival, RunState } from './run-state.js';
import { context, record, type Program } from './state-ops.js';

/**
 * The arrivals caused by a node finishing with `outcome`: live along taken edges, dead along
 * the others. When `when` edges exist and none holds, the `default: true` edge is taken.
 * `holds` answers whether an edge's `when` is truthy.
 */
function select(
  program: Program,
  from: string,
  outcome: 'success' | 'error' | 'dead',
  holds: (when: string) => boolean,
): Arrival[] {
  const arrivals: Arrival[] = [];
  const defaults: Array<{ to: string; index: number }> = [];
  let conditionalTaken = false;
  // On a cycle, an edge not taken now may be taken on the next iteration: it is not dead.
  const dead = (to: string, index: number) => {
    if (outcome === 'dead' || !program.cyclic.has(from)) arrivals.push({ node: to, edge: index, live: false });
  };
  for (const { edge, index } of program.outgoing.get(from) ?? []) {
    if (outcome === 'dead' || edge.on !== outcome) {
      dead(edge.to, index);
    } else if (edge.when === undefined) {
      if (edge.default) defaults.push({ to: edge.to, index });
      else arrivals.push({ node: edge.to, edge: index, live: true });
    } else if (holds(edge.when)) {
      conditionalTaken = true;
      arrivals.push({ node: edge.to, edge: index, live: true });
    } else if (edge.default) {
      defaults.push({ to: edge.to, index });
    } else {
      dead(edge.to, index);
    }
  }
  for (const { to, index } of defaults) {
    if (conditionalTaken) dead(to, index);
    else arrivals.push({ node: to, edge: index, live: true });
  }
  return arrivals;
}

/** {@link leave} without promises; throws NeedsAsync when a `when` needs JSONata's evaluator. */
export function leaveSync(
  program: Program,
  state: RunState,
  from: string,
  outcome: 'success' | 'error' | 'dead',
): Arrival[] {
  const ctx = context(state);
  return select(program, from, outcome, (when) => isTruthy(evaluateSync(when, ctx)));
}

/** The arrivals that follow a node's outcome (see {@link select}). */
export async function leave(
  program: Program,
  state: RunState,
  from: string,
  outcome: 'success' | 'error' | 'dead',
): Promise<Arrival[]> {
  try {
    return leaveSync(program, state, from, outcome);
  } catch (err) {
    if (!(err instanceof NeedsAsync)) throw err;
  }
  const truths = new Map<string, boolean>();
  for (const { edge } of program.outgoing.get(from) ?? []) {
    if (edge.when !== undefined && edge.on === outcome && !truths.has(edge.when)) {
      truths.set(edge.when, isTruthy(await evaluate(edge.when, context(state))));
    }
  }
  return select(program, from, outcome, (when) => truths.get(when) ?? false);
}

/** What an arrival means for its node: run it (with a join's output), propagate death, or wait. */
export interface Reception {
  run: boolean;
  dead: boolean;
  joinOutput?: Record<string, unknown>;
  /** The members of a loop that can no longer run: every edge entering it arrived dead. */
  deadLoop?: string[];
}

/**
 * Records an arrival. Nodes with one incoming edge simply run or die with it. Joins keep a
 * queue of tokens per incoming edge; a *generation* is complete when every incoming edge
 * has delivered one. A join fires per its mode within a generation, or dies when it cannot.
 */
export function receive(program: Program, state: RunState, arrival: Arrival): Reception {
  const node = program.nodes.get(arrival.node);
  const incoming = program.incoming.get(arrival.node) ?? [];
  if (!node) return { run: false, dead: false };
  if (arrival.edge === undefined || incoming.length <= 1) {
    if (node.type === 'join' && arrival.live)
      return { run: true, dead: false, joinOutput: joinOutput(program, state, [arrival.edge]) };
    return { run: arrival.live, dead: !arrival.live };
  }
  if (node.type !== 'join') {
    // A plain node runs on every live arrival; it is dead only when every incoming edge has
    // delivered a dead token since it last ran. Kept as a set, so loops cannot grow it.
    if (arrival.live) {
      delete state.tokens[node.id];
      return { run: true, dead: false };
    }
    const deadEdges = (state.tokens[node.id] ??= {});
    deadEdges[arrival.edge] = ['dead'];
    if (!incoming.every((i) => deadEdges[i])) return withDeadLoop(program, state, arrival, { run: false, dead: false });
    delete state.tokens[node.id];
    return { run: false, dead: true };
  }

  const queues = (state.tokens[node.id] ??= {});
  const queue = (queues[arrival.edge] ??= []);
  queue.push(arrival.live ? 'live' : 'dead');
  const becameHead = queue.length === 1;
  const result: Reception = { run: false, dead: false };

  const headsLive = () => incoming.filter((i) => queues[i]?.[0] === 'live');
  const tryFire = () => {
    if (state.joins_fired[node.id]) return;
    const live = headsLive();
    if (live.length >= threshold(node, incoming.length) && node.mode !== 'all') {
      state.joins_fired[node.id] = true;
      result.run = true;
      result.joinOutput = joinOutput(program, state, live);
    }
  };
  if (becameHead && arrival.live) tryFire();
  while (incoming.every((i) => (queues[i]?.length ?? 0) > 0)) {
    const live = headsLive();
    if (!state.joins_fired[node.id]) {
      if (node.mode === 'all' && live.length > 0) {
        result.run = true;
        result.joinOutput = joinOutput(program, state, live);
      } else {
        result.dead = true;
      }
    }
    for (const i of incoming) queues[i]?.shift();
    state.joins_fired[node.id] = false;
    tryFire();
  }
  return result.run || result.dead ? result : withDeadLoop(program, state, arrival, result);
}

/**
 * A node on a loop waits for its back edges too, and those never deliver a dead token (the
 * loop's nodes do not run). So a dead arrival along an edge entering a loop also asks whether
 * every edge entering the loop has now arrived dead, and nothing live since: then no member of
 * the loop can ever run, and the loop dies as a whole (`deadLoop`).
 */
function withDeadLoop(program: Program, state: RunState, arrival: Arrival, reception: Reception): Reception {
  const loop = program.loops.get(arrival.node);
  if (arrival.live || arrival.edge === undefined || !loop?.entries.includes(arrival.edge)) return reception;
  const deadOnly = (index: number) => {
    const to = program.definition.edges[index]?.to;
    const tokens = to === undefined ? undefined : state.tokens[to]?.[index];
    return tokens !== undefined && tokens.length > 0 && tokens.every((token) => token === 'dead');
  };
  if (!loop.entries.every(deadOnly) || program.deadLoops?.() === false) return reception;
  return { ...reception, deadLoop: loop.members };
}

/**
 * Marks a dead loop's members as not taken and clears what they held; returns the dead arrivals
 * along the edges that leave the loop, so what follows it learns it will not come.
 */
export function leaveDeadLoop(program: Program, state: RunState, members: string[]): Arrival[] {
  const inside = new Set(members);
  const arrivals: Arrival[] = [];
  for (const member of members) {
    delete state.tokens[member];
    delete state.joins_fired[member];
    for (const { edge, index } of program.outgoing.get(member) ?? []) {
      if (!inside.has(edge.to)) arrivals.push({ node: edge.to, edge: index, live: false });
    }
  }
  return arrivals;
}

function threshold(node: NodeOf<'join'>, incoming: number): number {
  if (node.mode === 'any') return 1;
  if (node.mode === 'n') return Math.min(node.n ?? incoming, incoming);
  return incoming;
}

/** A join's output: the outputs of the nodes whose branches arrived live, by node id. */
function joinOutput(program: Program, state: RunState, edges: Array<number | undefined>): Record<string, unknown> {
  const output: Record<string, unknown> = {};
  for (const index of edges) {
    if (index === undefined) continue;
    const from = program.definition.edges[index]?.from;
    if (from !== undefined) output[from] = record(state, from).output ?? null;
  }
  return output;
}
