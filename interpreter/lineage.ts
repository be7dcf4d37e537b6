/**
 * Data lineage: for each variable, which node wrote it, from which inputs, and when. Every
 * write to `state.vars` goes through `recordWrite`; what a value was computed from is read off
 * the writing node's expressions and templates (static references such as `vars.order` or
 * `nodes.fetch.output`), so recording costs no evaluation. Entries are bounded per variable
 * because loops write thousands of times and the state travels across continue-as-new.
 */
import type { Node } from './definition-schema.js';
import { nodeModule } from './nodes/index.js';
import type { LineageEntry, RunState, VariableLineage } from './run-state.js';

export { expressionInputs } from './expression-inputs.js';
export { assignInputs } from './nodes/index.js';

/** Entries kept per variable; older ones are dropped (only counted in `writes`). */
export const LINEAGE_LIMIT = 20;

/** What the `lineage` query answers. */
export interface RunLineage {
  run_id: string;
  variables: Record<string, VariableLineage>;
}

// Parsing is the costly part and a node's references never change: once per node object.
const nodeInputsCache = new WeakMap<Node, string[]>();

/** What a node's output is computed from (its params, prompt, expression or event type). */
export function nodeInputs(node: Node): string[] {
  let inputs = nodeInputsCache.get(node);
  if (!inputs) {
    inputs = nodeModule(node).inputs(node);
    nodeInputsCache.set(node, inputs);
  }
  return inputs;
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
