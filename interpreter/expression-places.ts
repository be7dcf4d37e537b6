/**
 * Where every expression of a definition stands, and what its evaluation context holds there:
 * `error` only on error paths, `item`/`index` only in map bodies, `event` in event filters.
 * Validation resolves each expression's names against that place (name-resolution.ts).
 */
import type { Definition } from './definition-schema.js';
import { outgoingEdges } from './graph.js';
import type { NameScope } from './name-resolution.js';
import { nodeModule } from './nodes/index.js';

/** One expression: its JSON Pointer, its source, and the context it is evaluated in. */
export interface PlacedExpression {
  path: string;
  source: string;
  /** Whether `when` of an edge (the constant-`when` warning looks at these). */
  when?: boolean;
  scope: NameScope;
}

/** Nodes that run on an error path: reachable from an `on: "error"` edge's target or a goto handler's target. */
export function errorPathNodes(definition: Definition): Set<string> {
  const out = outgoingEdges(definition);
  const stack = [
    ...definition.edges.filter((e) => e.on === 'error').map((e) => e.to),
    ...definition.error_handlers.flatMap((h) => (h.action === 'goto' && h.target !== undefined ? [h.target] : [])),
  ];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const edge of out.get(id) ?? []) stack.push(edge.to);
  }
  return seen;
}

/** Variables an expression may read: declared, or written by some node's `output` or a `set`. */
export function readableVariables(definition: Definition): Set<string> {
  const variables = new Set(definition.variables.map((v) => v.name));
  for (const node of definition.nodes) {
    if (node.output !== undefined) variables.add(node.output);
    if (node.type === 'set') for (const name of Object.keys(node.assign)) variables.add(name);
  }
  return variables;
}

/**
 * Every expression evaluated in the run's context, with its place: node fields (map bodies
 * included), edge conditions and `options.result`. Trigger filters come last, over the event alone.
 */
export function placedExpressions(definition: Definition): PlacedExpression[] {
  const base = {
    variables: readableVariables(definition),
    declared: new Set(definition.variables.map((v) => v.name)),
    nodes: new Set(definition.nodes.map((n) => n.id)),
  };
  const onErrorPath = errorPathNodes(definition);
  const predecessors = new Map<string, Set<string>>();
  for (const edge of definition.edges)
    predecessors.set(edge.to, (predecessors.get(edge.to) ?? new Set()).add(edge.from));
  const placed: PlacedExpression[] = [];
  definition.nodes.forEach((node, i) => {
    const before = [...(predecessors.get(node.id) ?? [])];
    const subject = before.length === 1 ? before[0] : undefined;
    for (const [path, source, item, eventFilter] of nodeModule(node).expressions(node, `/nodes/${i}`)) {
      placed.push({
        path,
        source,
        scope: {
          ...base,
          error: onErrorPath.has(node.id),
          item,
          ...(eventFilter ? { event: 'also' as const } : {}),
          ...(subject === undefined ? {} : { subject }),
        },
      });
    }
  });
  definition.edges.forEach((edge, i) => {
    if (edge.when === undefined) return;
    placed.push({
      path: `/edges/${i}/when`,
      source: edge.when,
      when: true,
      scope: { ...base, error: edge.on === 'error' || onErrorPath.has(edge.from), item: false, subject: edge.from },
    });
  });
  // Evaluated when the run completes: no error in scope, no item.
  if (definition.options.result !== undefined)
    placed.push({
      path: '/options/result',
      source: definition.options.result,
      scope: { ...base, error: false, item: false },
    });
  // Evaluated when the run starts, before any node ran: no node records to read.
  if (definition.options.concurrency_key !== undefined)
    placed.push({
      path: '/options/concurrency_key',
      source: definition.options.concurrency_key,
      scope: { ...base, nodes: new Set(), error: false, item: false },
    });
  definition.triggers.forEach((trigger, i) => {
    if (trigger.type !== 'event' || trigger.filters === undefined) return;
    placed.push({
      path: `/triggers/${i}/filters`,
      source: trigger.filters,
      scope: { ...base, error: false, item: false, event: 'only' },
    });
  });
  return placed;
}
