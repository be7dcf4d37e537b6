/**
 * Validation of a submitted definition: the schema first, then the checks that need the whole
 * graph. Every problem is reported at once, each with a JSON Pointer and a plain message.
 */
import { WorkflowDefinition, type Definition, type Node, type NodeType } from './definition-schema.js';
import { expressionLengthProblems, sizeProblems } from './definition-limits.js';
import { escapePointer, expressionSyntaxError, templateErrors } from './expressions.js';
import { cycles, reachableNodes, startNodes } from './graph.js';
import { referencesIn, templateExpressions } from './references.js';
import { toPointer, type Problem } from './problems.js';

/** The connectors and actions the worker offers, by name; injected by the caller. */
export type ConnectorCatalog = Readonly<Record<string, readonly string[]>>;

/**
 * Checks a task's inputs against its action's params schema as far as they are known at submit
 * time (literal values; templates are only known at run time). Paths are relative to `inputs`.
 */
export type ParamsCheck = (connector: string, action: string, inputs: Record<string, unknown>) => Problem[];

/** Node types this engine version can run. Others are part of the language but refused at submit. */
export const SUPPORTED_NODE_TYPES: ReadonlySet<NodeType> = new Set<NodeType>([
  'task',
  'ai',
  'set',
  'condition',
  'join',
  'wait',
  'event',
  'approval',
  'subworkflow',
  'map',
  'end',
]);

/** Error-handler actions this engine version can carry out. */
export const SUPPORTED_HANDLER_ACTIONS: ReadonlySet<string> = new Set([
  'retry',
  'compensate',
  'terminate',
  'continue',
  'goto',
]);

export type ValidationResult = { ok: true; definition: Definition } | { ok: false; problems: Problem[] };

/** Validates an untrusted value as a definition. */
export function validateDefinition(
  raw: unknown,
  catalog?: ConnectorCatalog,
  checkParams?: ParamsCheck,
): ValidationResult {
  // Size limits first: the checks below cost time in proportion to the definition.
  const tooLarge = sizeProblems(raw);
  if (tooLarge.length > 0) return { ok: false, problems: tooLarge };
  const protoKeys = protoKeyProblems(raw);
  if (protoKeys.length > 0) return { ok: false, problems: protoKeys };
  const parsed = WorkflowDefinition.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({ path: toPointer(issue.path), message: issue.message }));
    return { ok: false, problems };
  }
  const tooLong = expressionLengthProblems([...expressionsOf(parsed.data), ...outsideExpressions(parsed.data)]);
  if (tooLong.length > 0) return { ok: false, problems: tooLong };
  const problems = semanticProblems(parsed.data, catalog, checkParams);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, definition: parsed.data };
}

function semanticProblems(definition: Definition, catalog?: ConnectorCatalog, checkParams?: ParamsCheck): Problem[] {
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
    problems.push(...nodeProblems(node, at, catalog, checkParams));
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

  const incoming = new Map<string, number>();
  for (const edge of definition.edges) incoming.set(edge.to, (incoming.get(edge.to) ?? 0) + 1);
  definition.nodes.forEach((node, i) => {
    if (node.type !== 'join') return;
    const count = incoming.get(node.id) ?? 0;
    if (count < 2)
      problems.push({
        path: `/nodes/${i}`,
        message: `join "${node.id}" needs at least two incoming edges, has ${count}`,
      });
    if (node.mode === 'n' && node.n !== undefined && node.n > count) {
      problems.push({ path: `/nodes/${i}/n`, message: `n is ${node.n} but the join has only ${count} incoming edges` });
    }
  });

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
  problems.push(...referenceProblems(definition));
  problems.push(...outsideProblems(definition));
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

/** Every expression of a definition with the JSON Pointer of the field that holds it. */
function expressionsOf(definition: Definition): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const templates = (at: string, value: unknown) =>
    out.push(...templateExpressions(value).map(([p, e]): [string, string] => [at + p, e]));
  definition.nodes.forEach((node, i) => {
    const at = `/nodes/${i}`;
    switch (node.type) {
      case 'task':
        templates(`${at}/inputs`, node.inputs);
        if (node.compensation) templates(`${at}/compensation/inputs`, node.compensation.inputs);
        break;
      case 'ai':
        templates(`${at}/prompt_template`, node.prompt_template);
        if (node.system !== undefined) templates(`${at}/system`, node.system);
        break;
      case 'set':
        for (const [name, source] of Object.entries(node.assign)) out.push([`${at}/assign/${name}`, source]);
        break;
      case 'condition':
        out.push([`${at}/expression`, node.expression]);
        break;
      case 'wait':
        if (node.until !== undefined) out.push([`${at}/until`, node.until]);
        break;
      case 'event':
        out.push([`${at}/correlation_key`, node.correlation_key]);
        if (node.filters !== undefined) out.push([`${at}/filters`, node.filters]);
        break;
      case 'subworkflow':
        templates(`${at}/inputs`, node.inputs);
        break;
      case 'map':
        out.push([`${at}/items`, node.items]);
        if (node.task) templates(`${at}/task/inputs`, node.task.inputs);
        if (node.task?.compensation) templates(`${at}/task/compensation/inputs`, node.task.compensation.inputs);
        if (node.ai) templates(`${at}/ai/prompt_template`, node.ai.prompt_template);
        if (node.ai?.system !== undefined) templates(`${at}/ai/system`, node.ai.system);
        if (node.subworkflow) templates(`${at}/subworkflow/inputs`, node.subworkflow.inputs);
        break;
      case 'end':
        if (node.result !== undefined) out.push([`${at}/result`, node.result]);
        break;
      default:
        break;
    }
  });
  definition.edges.forEach((edge, i) => {
    if (edge.when !== undefined) out.push([`/edges/${i}/when`, edge.when]);
  });
  return out;
}

/** An ai node's `output_mapping` is a JSON Schema when it says so or looks like one, else a map of expressions. */
export function isJsonSchemaMapping(mapping: Record<string, unknown>): boolean {
  return 'type' in mapping || 'properties' in mapping || '$schema' in mapping;
}

/**
 * Expressions evaluated outside the run's variables, with their JSON Pointers: trigger filters
 * (over `event`, in the gateway) and an ai node's `output_mapping` (over the model's answer, in
 * the activity). They pass the same safety checks as every other expression.
 */
/** The AI call of a node, with its JSON Pointer: an `ai` node itself, or a `map` node's `ai` body. */
function aiStepOf(node: Definition['nodes'][number], i: number) {
  if (node.type === 'ai') return { at: `/nodes/${i}`, body: node };
  if (node.type === 'map' && node.ai) return { at: `/nodes/${i}/ai`, body: node.ai };
  return undefined;
}

function outsideExpressions(definition: Definition): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  definition.triggers.forEach((trigger, i) => {
    if (trigger.type === 'event' && trigger.filters !== undefined)
      out.push([`/triggers/${i}/filters`, trigger.filters]);
  });
  definition.nodes.forEach((node, i) => {
    const ai = aiStepOf(node, i);
    const mapping = ai?.body.output_mapping;
    if (!ai || !mapping || isJsonSchemaMapping(mapping)) return;
    for (const [name, source] of Object.entries(mapping))
      if (typeof source === 'string') out.push([`${ai.at}/output_mapping/${escapePointer(name)}`, source]);
  });
  return out;
}

function outsideProblems(definition: Definition): Problem[] {
  const problems: Problem[] = [];
  for (const [path, source] of outsideExpressions(definition)) pushExpression(problems, path, source);
  definition.nodes.forEach((node, i) => {
    const ai = aiStepOf(node, i);
    const mapping = ai?.body.output_mapping;
    if (!ai || !mapping || isJsonSchemaMapping(mapping)) return;
    for (const [name, source] of Object.entries(mapping)) {
      if (typeof source !== 'string' || source.length === 0)
        problems.push({
          path: `${ai.at}/output_mapping/${escapePointer(name)}`,
          message: 'expected a JSONata expression over the answer (a string), or a JSON Schema as the whole mapping',
        });
    }
  });
  return problems;
}

/** References to variables nobody declares or writes, and to nodes that do not exist. */
function referenceProblems(definition: Definition): Problem[] {
  const variables = new Set(definition.variables.map((v) => v.name));
  for (const node of definition.nodes) {
    if (node.output !== undefined) variables.add(node.output);
    if (node.type === 'set') for (const name of Object.keys(node.assign)) variables.add(name);
  }
  const nodes = new Set(definition.nodes.map((n) => n.id));
  const problems: Problem[] = [];
  for (const [path, source] of expressionsOf(definition)) {
    const refs = referencesIn(source);
    for (const name of new Set(refs.vars)) {
      if (!variables.has(name)) {
        problems.push({
          path,
          message: `"vars.${name}": no variable "${name}" is declared, or written by a node's output or a set node`,
        });
      }
    }
    for (const id of new Set(refs.nodes)) {
      if (!nodes.has(id)) problems.push({ path, message: `"nodes.${id}": there is no node "${id}"` });
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

function connectorProblems(
  call: { connector: string; action: string; inputs: Record<string, unknown> },
  at: string,
  catalog?: ConnectorCatalog,
  checkParams?: ParamsCheck,
): Problem[] {
  const problems: Problem[] = [];
  const actions = catalog?.[call.connector];
  if (catalog && !actions) {
    problems.push({
      path: `${at}/connector`,
      message: `unknown connector "${call.connector}"; available: ${Object.keys(catalog).join(', ')}`,
    });
  } else if (actions && !actions.includes(call.action)) {
    problems.push({
      path: `${at}/action`,
      message: `connector "${call.connector}" has no action "${call.action}"; available: ${actions.join(', ')}`,
    });
  }
  pushTemplates(problems, `${at}/inputs`, call.inputs);
  if (checkParams && actions?.includes(call.action)) {
    for (const p of checkParams(call.connector, call.action, call.inputs))
      problems.push({ path: `${at}/inputs${p.path}`, message: p.message });
  }
  return problems;
}

function nodeProblems(node: Node, at: string, catalog?: ConnectorCatalog, checkParams?: ParamsCheck): Problem[] {
  const problems: Problem[] = [];
  switch (node.type) {
    case 'task':
      problems.push(...connectorProblems(node, at, catalog, checkParams));
      if (node.compensation)
        problems.push(...connectorProblems(node.compensation, `${at}/compensation`, catalog, checkParams));
      break;
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
    case 'join':
      if (node.mode === 'n' && node.n === undefined) problems.push({ path: `${at}/n`, message: 'mode "n" needs "n"' });
      break;
    case 'wait':
      if ((node.duration === undefined) === (node.until === undefined)) {
        problems.push({ path: at, message: 'a wait node needs exactly one of "duration" or "until"' });
      }
      if (node.until !== undefined) pushExpression(problems, `${at}/until`, node.until);
      break;
    case 'event':
      pushExpression(problems, `${at}/correlation_key`, node.correlation_key);
      if (node.filters !== undefined) pushExpression(problems, `${at}/filters`, node.filters);
      break;
    case 'subworkflow':
      pushTemplates(problems, `${at}/inputs`, node.inputs);
      break;
    case 'ai':
      pushTemplates(problems, `${at}/prompt_template`, node.prompt_template);
      if (node.system !== undefined) pushTemplates(problems, `${at}/system`, node.system);
      break;
    case 'map': {
      pushExpression(problems, `${at}/items`, node.items);
      const bodies = (['task', 'ai', 'subworkflow'] as const).filter((k) => node[k] !== undefined);
      if (bodies.length !== 1) {
        problems.push({
          path: at,
          message: `a map node needs exactly one body field (task, ai or subworkflow), has ${bodies.length}`,
        });
      }
      if (node.task) problems.push(...connectorProblems(node.task, `${at}/task`, catalog, checkParams));
      if (node.ai) pushTemplates(problems, `${at}/ai/prompt_template`, node.ai.prompt_template);
      if (node.ai?.system !== undefined) pushTemplates(problems, `${at}/ai/system`, node.ai.system);
      if (node.subworkflow) pushTemplates(problems, `${at}/subworkflow/inputs`, node.subworkflow.inputs);
      break;
    }
    default:
      break;
  }
  return problems;
}

/**
 * Keys named `__proto__` anywhere in the definition. Parsing drops them silently (assigning one
 * would replace an object's prototype), so an assignment or input named so would vanish: refuse it.
 */
function protoKeyProblems(value: unknown, path: Array<string | number> = []): Problem[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => protoKeyProblems(item, [...path, i]));
  if (!value || typeof value !== 'object') return [];
  return Object.keys(value).flatMap((key) =>
    key === '__proto__'
      ? [{ path: toPointer([...path, key]), message: 'a key may not be named "__proto__"' }]
      : protoKeyProblems((value as Record<string, unknown>)[key], [...path, key]),
  );
}

/** Re-exported so callers can build pointers the same way. */
export { toPointer };
export { DEFINITION_LIMITS } from './definition-limits.js';
export type { Problem };
