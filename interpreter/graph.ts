/**
 * Small pure graph helpers over a definition's nodes and edges.
 */
import type { Definition, Edge } from './definition-schema.js';

/** Outgoing edges per node id, in definition order. */
export function outgoingEdges(definition: Pick<Definition, 'edges'>): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>();
  for (const edge of definition.edges) {
    const list = out.get(edge.from) ?? [];
    list.push(edge);
    out.set(edge.from, list);
  }
  return out;
}

/** Node ids with no incoming edge: they start when the run starts. */
export function startNodes(definition: Pick<Definition, 'nodes' | 'edges'>): string[] {
  const targets = new Set(definition.edges.map((edge) => edge.to));
  return definition.nodes.map((node) => node.id).filter((id) => !targets.has(id));
}

/** Node ids reachable from the start nodes along any edge. */
export function reachableNodes(definition: Pick<Definition, 'nodes' | 'edges'>): Set<string> {
  return reachableFrom(definition, startNodes(definition));
}

/** `from` and every node reachable from it along any edge (success or error): what a rerun from it repeats. */
export function downstreamNodes(definition: Pick<Definition, 'edges'>, from: string): Set<string> {
  return reachableFrom(definition, [from]);
}

function reachableFrom(definition: Pick<Definition, 'edges'>, roots: string[]): Set<string> {
  const out = outgoingEdges(definition);
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const edge of out.get(id) ?? []) stack.push(edge.to);
  }
  return seen;
}

/**
 * Strongly connected components that form cycles, each as a list of node ids. Tarjan's
 * algorithm, iterative so deep graphs cannot overflow the stack.
 */
export function cycles(definition: Pick<Definition, 'nodes' | 'edges'>): string[][] {
  const out = outgoingEdges(definition);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let counter = 0;

  for (const root of definition.nodes.map((node) => node.id)) {
    if (index.has(root)) continue;
    const work: Array<{ id: string; next: number }> = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { id: string; next: number };
      const edges = out.get(frame.id) ?? [];
      if (frame.next < edges.length) {
        const to = (edges[frame.next++] as Edge).to;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ id: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) as number, low.get(frame.id) as number));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
          onStack.delete(member);
          component.push(member);
          if (member === frame.id) break;
        }
        const selfLoop = (out.get(frame.id) ?? []).some((edge) => edge.to === frame.id);
        if (component.length > 1 || selfLoop) result.push(component.reverse());
      }
    }
  }
  return result;
}
