/**
 * How control moves along edges: which edges a finished node takes, and what an arrival does
 * at a node with several incoming edges. Edges not taken carry a *dead* token, so a `join`
 * knows a branch will not come (dead-path elimination) instead of waiting for it forever.
 */
import type { NodeOf } from './definition-schema.js';
import { evaluate, isTruthy } from './expressions.js';
import type { Arrival, RunState } from './run-state.js';
import { context, record, type Program } from './state-ops.js';

/**
 * The arrivals caused by a node finishing with `outcome`: live along taken edges, dead along
 * the others. When `when` edges exist and none holds, the `default: true` edge is taken.
 */
export async function leave(
  program: Program,
  state: RunState,
  from: string,
  outcome: 'success' | 'error' | 'dead',
): Promise<Arrival[]> {
  const arrivals: Arrival[] = [];
  const edges = program.outgoing.get(from) ?? [];
  const defaults: Array<{ to: string; index: number }> = [];
  let conditionalTaken = false;
  for (const { edge, index } of edges) {
    if (outcome === 'dead' || edge.on !== outcome) {
      arrivals.push({ node: edge.to, edge: index, live: false });
      continue;
    }
    if (edge.when === undefined) {
      if (edge.default) defaults.push({ to: edge.to, index });
      else arrivals.push({ node: edge.to, edge: index, live: true });
      continue;
    }
    if (isTruthy(await evaluate(edge.when, context(state)))) {
      conditionalTaken = true;
      arrivals.push({ node: edge.to, edge: index, live: true });
    } else if (edge.default) {
      defaults.push({ to: edge.to, index });
    } else {
      arrivals.push({ node: edge.to, edge: index, live: false });
    }
  }
  for (const { to, index } of defaults) arrivals.push({ node: to, edge: index, live: !conditionalTaken });
  return arrivals;
}

/** What an arrival means for its node: run it (with a join's output), propagate death, or wait. */
export interface Reception {
  run: boolean;
  dead: boolean;
  joinOutput?: Record<string, unknown>;
}

/**
 * Records an arrival. Nodes with one incoming edge simply run or die with it. Nodes with
 * several keep a queue of tokens per edge; a *generation* is complete when every incoming edge
 * has delivered one. A plain node runs once per live arrival and dies when a whole generation
 * was dead; a join fires per its mode within a generation, or dies when it cannot.
 */
export function receive(program: Program, state: RunState, arrival: Arrival): Reception {
  const node = program.nodes.get(arrival.node);
  const incoming = program.incoming.get(arrival.node) ?? [];
  if (!node) return { run: false, dead: false };
  if (arrival.edge === undefined || incoming.length <= 1) {
    if (node.type === 'join' && arrival.live) return { run: true, dead: false, joinOutput: joinOutput(program, state, [arrival.edge]) };
    return { run: arrival.live, dead: !arrival.live };
  }
  const queues = (state.tokens[node.id] ??= {});
  const queue = (queues[arrival.edge] ??= []);
  queue.push(arrival.live ? 'live' : 'dead');
  const becameHead = queue.length === 1;
  const result: Reception = { run: false, dead: false };

  if (node.type !== 'join') {
    result.run = arrival.live;
    while (incoming.every((i) => (queues[i]?.length ?? 0) > 0)) {
      const heads = incoming.map((i) => queues[i]?.shift());
      if (heads.every((h) => h === 'dead')) result.dead = true;
    }
    return result;
  }

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
  return result;
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
