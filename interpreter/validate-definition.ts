/**
 * Validation of a submitted definition: the schema first, then the checks that need the whole
 * graph. Every problem is reported at once, each with a JSON Pointer and a plain message.
 */
import type { z } from 'zod';
import { WorkflowDefinition, type Definition, type Node, type NodeType } from './definition-schema.js';
import { expressionLengthProblems, sizeProblems } from './definition-limits.js';
import { executionProblems } from './execution.js';
import { escapePointer, expressionSyntaxError } from './expressions.js';
import { cycles, reachableNodes, startNodes } from './graph.js';
import { definitionWarnings } from './definition-warnings.js';
import { placedExpressions } from './expression-places.js';
import { nameProblems } from './name-resolution.js';
import { nearestName } from './near-names.js';
import { NODE_TYPES, nodeModule, type Checks, type ConnectorCatalog, type ParamsCheck } from './nodes/index.js';
import { pushExpression } from './nodes/checks.js';
import { toPointer, type Problem } from './problems.js';

export type { ConnectorCatalog, ParamsCheck };

/** Node types this engine version can run. Others are part of the language but refused at submit. */
export const SUPPORTED_NODE_TYPES: ReadonlySet<NodeType> = new Set(Object.keys(NODE_TYPES) as NodeType[]);

/** Error-handler actions this engine version can carry out. */
export const SUPPORTED_HANDLER_ACTIONS: ReadonlySet<string> = new Set([
  'retry',
  'compensate',
  'terminate',
  'continue',
  'goto',
]);

/**
 * The outcome: a valid definition with its warnings (still accepted: see definition-warnings.ts),
 * or every problem found.
 */
export type ValidationResult =
  { ok: true; definition: Definition; warnings: Problem[] } | { ok: false; problems: Problem[] };

/**
 * A top-level `"$schema"` (the JSON Schema an editor checks the file against) is accepted and
 * ignored: it is taken off before validation, so it is neither stored nor part of the content.
 */
function withoutSchemaKey(raw: unknown): { value: unknown; problems: Problem[] } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !Object.hasOwn(raw, '$schema')) {
    return { value: raw, problems: [] };
  }
  const { $schema: schema, ...rest } = raw as Record<string, unknown>;
  if (typeof schema === 'string') return { value: rest, problems: [] };
  return { value: rest, problems: [{ path: '/$schema', message: 'expected the URI of a JSON Schema (a string)' }] };
}

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
  const unschemed = withoutSchemaKey(raw);
  const parsed = WorkflowDefinition.safeParse(unschemed.value);
  if (!parsed.success || unschemed.problems.length > 0) {
    const issues = parsed.success ? [] : parsed.error.issues;
    const problems = issues.map((issue) => ({ path: toPointer(issue.path), message: issueMessage(issue) }));
    return { ok: false, problems: [...unschemed.problems, ...problems] };
  }
  const tooLong = expressionLengthProblems([...expressionsOf(parsed.data), ...outsideExpressions(parsed.data)]);
  if (tooLong.length > 0) return { ok: false, problems: tooLong };
  const problems = semanticProblems(parsed.data, catalog, checkParams);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    definition: parsed.data,
    warnings: definitionWarnings(parsed.data, placedExpressions(parsed.data)),
  };
}

/** zod's message, except for a record key: "Invalid key in record" says less than the key's own check. */
function issueMessage(issue: z.core.$ZodIssue): string {
  return (issue.code === 'invalid_key' && issue.issues[0]?.message) || issue.message;
}

/** `unknown node "x"`, with the nearest existing id when there is one. */
function unknownNode(id: string, nodeIds: Map<string, number>, what: string): string {
  const near = nearestName(id, nodeIds.keys());
  return `${what} unknown node "${id}"${near === undefined ? '' : `; did you mean "${near}"?`}`;
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
    problems.push(...executionProblems(node, at, definition.options.execution));
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
        problems.push({ path: `/edges/${i}/${end}`, message: unknownNode(edge[end], nodeIds, `edge ${end}`) });
      }
    }
    if (edge.when !== undefined) pushExpression(problems, `/edges/${i}/when`, edge.when);
  });
  if (definition.options.result !== undefined) pushExpression(problems, '/options/result', definition.options.result);
  problems.push(...runOptionProblems(definition.options));
  const defaults = new Map<string, number[]>();
  definition.edges.forEach((e, i) => {
    const key = `${e.on} edges of "${e.from}"`;
    if (e.default === true) defaults.set(key, [...(defaults.get(key) ?? []), i]);
  });
  for (const [edges, indexes] of defaults) {
    for (const i of indexes.slice(1)) {
      problems.push({
        path: `/edges/${i}/default`,
        message: `the ${edges} already have a default (/edges/${indexes[0] ?? 0}); at most one edge can be the default`,
      });
    }
  }

  const handlerIds = new Map<string, number>();
  definition.error_handlers.forEach((handler, i) => {
    const at = `/error_handlers/${i}`;
    const earlier = handlerIds.get(handler.id);
    if (earlier !== undefined) {
      problems.push({
        path: `${at}/id`,
        message: `duplicate handler id "${handler.id}" (also /error_handlers/${earlier})`,
      });
    } else {
      handlerIds.set(handler.id, i);
    }
    const matched = handler.match?.node;
    for (const [k, id] of (Array.isArray(matched) ? matched : matched === undefined ? [] : [matched]).entries()) {
      if (!nodeIds.has(id)) {
        problems.push({
          path: Array.isArray(matched) ? `${at}/match/node/${k}` : `${at}/match/node`,
          message: unknownNode(id, nodeIds, 'match.node names an'),
        });
      }
    }
    if (handler.action !== 'goto' && handler.target !== undefined) {
      problems.push({
        path: `${at}/target`,
        message: `"target" is used only by a "goto" handler; this one is "${handler.action}"`,
      });
    }
    if (handler.action !== 'retry' && handler.retry_policy !== undefined) {
      problems.push({
        path: `${at}/retry_policy`,
        message: `"retry_policy" is used only by a "retry" handler; this one is "${handler.action}"`,
      });
    }
    if (!SUPPORTED_HANDLER_ACTIONS.has(handler.action)) {
      problems.push({
        path: `/error_handlers/${i}/action`,
        message: `action "${handler.action}" is not supported by this engine version yet; supported: ${[...SUPPORTED_HANDLER_ACTIONS].join(', ')}`,
      });
    }
    if (handler.action === 'goto' && (handler.target === undefined || !nodeIds.has(handler.target))) {
      const near = handler.target === undefined ? undefined : nearestName(handler.target, nodeIds.keys());
      problems.push({
        path: `/error_handlers/${i}/target`,
        message: `expected the id of an existing node for "goto"${near === undefined ? '' : `; did you mean "${near}"?`}`,
      });
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

/** Every expression evaluated in the run's context, with the JSON Pointer of the field that holds it. */
function expressionsOf(definition: Definition): Array<[string, string]> {
  return placedExpressions(definition)
    .filter((p) => !p.path.startsWith('/triggers/'))
    .map((p): [string, string] => [p.path, p.source]);
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

/**
 * Names no context holds where they are read: an unknown root, variable or node, `error` off error
 * paths, `item` outside map bodies, `$`/`$$` as data, an undefined `$name` (name-resolution.ts).
 */
function referenceProblems(definition: Definition): Problem[] {
  // An expression already refused (syntax, safety) is not analysed further: one problem says it.
  return placedExpressions(definition).flatMap(({ path, source, scope }) =>
    expressionSyntaxError(source) === undefined
      ? nameProblems(source, scope).map((message) => ({ path, message }))
      : [],
  );
}

/** Run-level flow control fields that need another (`concurrency_key`, `on_limit`), and the key's syntax. */
function runOptionProblems(options: Definition['options']): Problem[] {
  const problems: Problem[] = [];
  if (options.concurrency_key !== undefined) {
    pushExpression(problems, '/options/concurrency_key', options.concurrency_key);
    if (options.max_concurrent_runs === undefined && options.debounce === undefined)
      problems.push({
        path: '/options/concurrency_key',
        message: 'needs options.max_concurrent_runs or options.debounce: it keys the run limit and debounce bursts',
      });
  }
  if (options.on_limit !== undefined && options.max_concurrent_runs === undefined)
    problems.push({
      path: '/options/on_limit',
      message: 'needs options.max_concurrent_runs: it says what a start past it does',
    });
  return problems;
}

/** A node's own checks (its type's module), a map body's included. */
function nodeProblems(node: Node, at: string, catalog?: ConnectorCatalog, checkParams?: ParamsCheck): Problem[] {
  const checks: Checks = {
    ...(catalog === undefined ? {} : { catalog }),
    ...(checkParams === undefined ? {} : { checkParams }),
    node: (body, where) => nodeProblems(body, where, catalog, checkParams),
  };
  return nodeModule(node).problems(node, at, checks);
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
