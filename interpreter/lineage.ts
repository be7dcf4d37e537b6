/**
 * Data lineage: for each variable, which node wrote it, from which inputs, and when. Every
 * write to `state.vars` goes through `recordWrite`; what a value was computed from is read off
 * the writing node's expressions and templates (static references such as `vars.order` or
 * `nodes.fetch.output`), so recording costs no evaluation. Entries are bounded per variable
 * because loops write thousands of times and the state travels across continue-as-new.
 */
import jsonata from 'jsonata';
import type { Node, NodeOf } from './definition-schema.js';
import { templateExpressions } from './references.js';
import type { LineageEntry, RunState, VariableLineage } from './run-state.js';

/** Entries kept per variable; older ones are dropped (only counted in `writes`). */
export const LINEAGE_LIMIT = 20;

/** What the `lineage` query answers. */
export interface RunLineage {
  run_id: string;
  variables: Record<string, VariableLineage>;
}

/** Roots of the evaluation context whose paths say where a value came from. */
const ROOTS = new Set(['vars', 'input', 'nodes', 'error']);

interface AstStep {
  type?: string;
  value?: unknown;
}

/** `vars.x`, `input.x`, `error.x`, `nodes.a.output`: a path's root and the names that follow it. */
function pathReference(steps: AstStep[]): string | undefined {
  // `$.vars.x` starts with the context variable `$`.
  const from = steps[0]?.type === 'variable' && steps[0].value === '' ? 1 : 0;
  const root = steps[from];
  if (root?.type !== 'name' || typeof root.value !== 'string' || !ROOTS.has(root.value)) return undefined;
  const depth = root.value === 'nodes' ? 2 : 1;
  const parts = [root.value];
  for (const step of steps.slice(from + 1, from + 1 + depth)) {
    if (step.type !== 'name' || typeof step.value !== 'string') break;
    parts.push(step.value);
  }
  return parts.join('.');
}

function walk(ast: unknown, found: Set<string>): void {
  if (Array.isArray(ast)) {
    for (const child of ast) walk(child, found);
    return;
  }
  if (!ast || typeof ast !== 'object') return;
  const node = ast as { type?: string; steps?: AstStep[] };
  if (node.type === 'path' && node.steps) {
    const reference = pathReference(node.steps);
    if (reference) found.add(reference);
  }
  for (const value of Object.values(node)) walk(value, found);
}

/** The static references of one JSONata expression, in order of appearance (none if it does not parse). */
export function expressionInputs(source: string): string[] {
  const found = new Set<string>();
  try {
    walk(jsonata(source).ast(), found);
  } catch {
    // Validation rejects definitions whose expressions do not parse; nothing to trace here.
  }
  return [...found];
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

function templateInputs(value: unknown): string[] {
  return union(templateExpressions(value).map(([, expression]) => expressionInputs(expression)));
}

function bodyInputs(body: Pick<NodeOf<'map'>, 'task' | 'ai' | 'subworkflow'>): string[] {
  if (body.task) return templateInputs(body.task.inputs);
  if (body.ai) return templateInputs([body.ai.prompt_template, body.ai.system ?? '']);
  if (body.subworkflow) return templateInputs(body.subworkflow.inputs);
  return [];
}

function computeNodeInputs(node: Node): string[] {
  switch (node.type) {
    case 'task':
      return bodyInputs({ task: node });
    case 'ai':
      return bodyInputs({ ai: node });
    case 'subworkflow':
      return bodyInputs({ subworkflow: node });
    case 'map':
      return union([expressionInputs(node.items), bodyInputs(node)]);
    case 'set':
      return union(Object.values(node.assign).map(expressionInputs));
    case 'condition':
      return expressionInputs(node.expression);
    case 'end':
      return node.result === undefined ? ['vars'] : expressionInputs(node.result);
    case 'wait':
      return node.until === undefined ? [] : expressionInputs(node.until);
    case 'event':
      return [`event:${node.event_type}`];
    case 'join':
    case 'approval':
      return [];
  }
}

// Parsing is the costly part and a node's references never change: once per node object.
const nodeInputsCache = new WeakMap<Node, string[]>();
const assignInputsCache = new WeakMap<Node, Record<string, string[]>>();

/** What a node's output is computed from (its params, prompt, expression or event type). */
export function nodeInputs(node: Node): string[] {
  let inputs = nodeInputsCache.get(node);
  if (!inputs) {
    inputs = computeNodeInputs(node);
    nodeInputsCache.set(node, inputs);
  }
  return inputs;
}

/** What one `assign` entry of a set node is computed from. */
export function assignInputs(node: NodeOf<'set'>, name: string): string[] {
  let byName = assignInputsCache.get(node);
  if (!byName) {
    byName = Object.fromEntries(Object.entries(node.assign).map(([key, source]) => [key, expressionInputs(source)]));
    assignInputsCache.set(node, byName);
  }
  return byName[name] ?? [];
}

/** Records one write of `name`, keeping the latest `LINEAGE_LIMIT` entries. */
export function recordWrite(state: RunState, name: string, entry: LineageEntry): void {
  state.lineage ??= {};
  const lineage = (state.lineage[name] ??= { writes: 0, entries: [] });
  lineage.writes++;
  // Inputs may come from the per-node cache: copy them so the mutable state never aliases it.
  lineage.entries.push({ ...entry, inputs: [...entry.inputs] });
  if (lineage.entries.length > LINEAGE_LIMIT) lineage.entries.splice(0, lineage.entries.length - LINEAGE_LIMIT);
}

/** Records a node's write of `name` (its `output` variable, or a set node's assignment). */
export function recordNodeWrite(
  state: RunState,
  node: Node,
  name: string,
  now: string,
  extra: { inputs?: string[]; by?: string; operator?: boolean } = {},
): void {
  recordWrite(state, name, {
    at: now,
    node: node.id,
    node_type: node.type,
    source: extra.operator ? 'operator' : 'node',
    ...(extra.by === undefined ? {} : { by: extra.by }),
    inputs: extra.inputs ?? nodeInputs(node),
    iteration: state.nodes[node.id]?.visits ?? 0,
  });
}

/** Records the variables a new run starts with: from its input, or declared defaults. */
export function recordInitialVariables(state: RunState, now: string): void {
  for (const name of Object.keys(state.vars)) {
    const given = Object.prototype.hasOwnProperty.call(state.input, name);
    recordWrite(state, name, { at: now, source: given ? 'input' : 'default', inputs: given ? [`input.${name}`] : [] });
  }
}

/** The lineage of every variable of the run (states from before lineage was recorded have none). */
export function viewLineage(state: RunState): RunLineage {
  const variables: Record<string, VariableLineage> = {};
  for (const name of [...Object.keys(state.vars), ...Object.keys(state.lineage ?? {})]) {
    variables[name] = state.lineage?.[name] ?? { writes: 0, entries: [] };
  }
  return { run_id: state.run.id, variables };
}
