/**
 * Validation of a submitted definition: the schema first, then the checks that need the whole
 * graph. Every problem is reported at once, each with a JSON Pointer and a plain message.
 */
import { WorkflowDefinition, type Definition, type Node, type NodeType } from './definition-schema.js';
import { expressionSyntaxError, templateErrors } from './expressions.js';
import { cycles, reachableNodes, startNodes } from './graph.js';
import { toPointer, type Problem } from './problems.js';

/** The connectors and actions the worker offers, by name; injected by the caller. */
export type ConnectorCatalog = Readonly<Record<string, readonly string[]>>;

/** Node types this engine version can run. Others are part of the language but refused at submit. */
export const SUPPORTED_NODE_TYPES: ReadonlySet<NodeType> = new Set<NodeType>(['task', 'set', 'condition', 'end']);

/** Error-handler actions this engine version can carry out. */
export const SUPPORTED_HANDLER_ACTIONS: ReadonlySet<string> = new Set(['terminate', 'continue', 'goto']);

export type ValidationResult = { ok: true; definition: Definition } | { ok: false; problems: Problem[] };

/** Validates an untrusted value as a definition. */
export function validateDefinition(raw: unknown, catalog?: ConnectorCatalog): ValidationResult {
  const parsed = WorkflowDefinition.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({ path: toPointer(issue.path), message: issue.message }));
    return { ok: false, problems };
  }
  const problems = semanticProblems(parsed.data, catalog);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, definition: parsed.data };
}

function semanticProblems(definition: Definition, catalog?: ConnectorCatalog): Problem[] {
  const problems: Problem[] = [];
  const nodeIds = new Map<string, number>();

  definition.nodes.forEach((node, i) => {
    const at = `/nodes/${i}`;
    if (nodeIds.has(node.id)) {
      problems.push({
        path: `${at}/id`,
        message: `duplicate node id "${node.id}" (also /nodes/${nodeIds.get(node.id)})`,
      });
    } else {
      nodeIds.set(node.id, i);
    }
    if (!SUPPORTED_NODE_TYPES.has(node.type)) {
      problems.push({
        path: `${at}/type`,
        message: `node type "${node.type}" is part of the language but not supported by this engine version yet; supported: ${[...SUPPORTED_NODE_TYPES].join(', ')}`,
      });
    }
    problems.push(...nodeProblems(node, at, catalog));
  });

  const seenVariables = new Set<string>();
  definition.variables.forEach((variable, i) => {
    if (seenVariables.has(variable.name)) {
      problems.push({ path: `/variables/${i}/name`, message: `duplicate variable "${variable.name}"` });
    }
    seenVariables.add(variable.name);
  });

  definition.edges.forEach((edge, i) => {
    for (const end of ['from', 'to'] as const) {
      if (!nodeIds.has(edge[end])) {
        problems.push({ path: `/edges/${i}/${end}`, message: `edge ${end} unknown node "${edge[end]}"` });
      }
    }
    if (edge.when !== undefined) pushExpression(problems, `/edges/${i}/when`, edge.when);
  });

  if (definition.options.on_failure === 'pause') {
    problems.push({
      path: '/options/on_failure',
      message: '"pause" is not supported by this engine version yet; use "fail"',
    });
  }
  if (definition.options.max_cost_usd !== undefined) {
    problems.push({
      path: '/options/max_cost_usd',
      message: 'AI budgets are not supported by this engine version yet',
    });
  }
  definition.error_handlers.forEach((handler, i) => {
    if (!SUPPORTED_HANDLER_ACTIONS.has(handler.action)) {
      problems.push({
        path: `/error_handlers/${i}/action`,
        message: `action "${handler.action}" is not supported by this engine version yet; supported: ${[...SUPPORTED_HANDLER_ACTIONS].join(', ')}`,
      });
    }
    if (handler.action === 'goto' && (handler.target === undefined || !nodeIds.has(handler.target))) {
      problems.push({ path: `/error_handlers/${i}/target`, message: 'expected the id of an existing node for "goto"' });
    }
  });

  // Graph-level checks only make sense once every edge points at a real node.
  if (problems.some((p) => p.path.startsWith('/edges/'))) return problems;

  if (startNodes(definition).length === 0) {
    problems.push({ path: '/edges', message: 'no start node: every node has an incoming edge, so nothing would run' });
  } else {
    const reachable = reachableNodes(definition);
    definition.nodes.forEach((node, i) => {
      if (!reachable.has(node.id)) {
        problems.push({ path: `/nodes/${i}`, message: `node "${node.id}" is unreachable from any start node` });
      }
    });
  }
  for (const cycle of cycles(definition)) {
    const members = new Set(cycle);
    const guarded = definition.edges.some((e) => members.has(e.from) && members.has(e.to) && e.when !== undefined);
    if (!guarded) {
      problems.push({
        path: '/edges',
        message: `cycle ${cycle.join(' -> ')} has no edge with "when", so it could never end`,
      });
    }
  }
  return problems;
}

function pushExpression(problems: Problem[], path: string, source: string): void {
  const message = expressionSyntaxError(source);
  if (message) problems.push({ path, message });
}

function pushTemplates(problems: Problem[], path: string, value: unknown): void {
  for (const [pointer, message] of templateErrors(value)) problems.push({ path: path + pointer, message });
}

function nodeProblems(node: Node, at: string, catalog?: ConnectorCatalog): Problem[] {
  const problems: Problem[] = [];
  switch (node.type) {
    case 'task': {
      if (catalog) {
        const actions = catalog[node.connector];
        if (!actions) {
          problems.push({
            path: `${at}/connector`,
            message: `unknown connector "${node.connector}"; available: ${Object.keys(catalog).join(', ')}`,
          });
        } else if (!actions.includes(node.action)) {
          problems.push({
            path: `${at}/action`,
            message: `connector "${node.connector}" has no action "${node.action}"; available: ${actions.join(', ')}`,
          });
        }
      }
      pushTemplates(problems, `${at}/inputs`, node.inputs);
      break;
    }
    case 'set':
      for (const [name, source] of Object.entries(node.assign))
        pushExpression(problems, `${at}/assign/${name}`, source);
      break;
    case 'condition':
      pushExpression(problems, `${at}/expression`, node.expression);
      break;
    case 'end':
      if (node.result !== undefined) pushExpression(problems, `${at}/result`, node.result);
      break;
    default:
      break;
  }
  return problems;
}

/** Re-exported so callers can build pointers the same way. */
export { toPointer };
export type { Problem };
