/**
 * Secret tainting: which variables and node outputs are derived from a secret variable, read
 * off the definition alone (a static data-flow analysis, no evaluation), so the run state
 * view can mask everything derived from a secret and not only the secret's exact value.
 *
 * The rules, applied until nothing changes:
 *
 * - a variable declared `secret: true` is tainted;
 * - an expression or template is tainted when it refers to a tainted variable (`vars.x`,
 *   `input.x`), to a tainted node (`nodes.a…`), or to anything it cannot name statically while
 *   something is tainted: the whole context (`$`, `$$`), a root without a literal name
 *   (`vars`, `vars.*`, `$lookup(vars, k)`, `input`, `nodes`), or `error` (the failing node may
 *   be tainted);
 * - a node is tainted when one of its expressions or templates is (a task's inputs, an AI
 *   node's prompt, a map's items or body, a set node's assignments, an end node's result);
 *   its output, error message and the variable it writes (`output`) are then tainted too; a set
 *   node taints exactly the variables whose assignment is tainted.
 *
 * Not tracked: implicit flows (a condition on a secret choosing a branch), values that leave
 * through a connector and come back through another node's unrelated output, and what an
 * operator types into variables (masked only when the variable is tainted).
 */
import jsonata from 'jsonata';
import type { Definition, Node } from './definition-schema.js';
import { nodeModule } from './nodes/index.js';
import { templateExpressions } from './references.js';

export interface Taint {
  /** Tainted variable names: masked in the view. */
  vars: ReadonlySet<string>;
  /** Tainted node ids: their output and error messages are masked. */
  nodes: ReadonlySet<string>;
}

/** What one expression refers to: literal references, and whether it reads something it cannot name. */
interface Refs {
  vars: Set<string>;
  nodes: Set<string>;
  /** Reads the whole context, a root without a literal name, or `error`. */
  dynamic: boolean;
}

interface AstNode {
  type?: string;
  value?: unknown;
  steps?: AstNode[];
}

const ROOTS = new Set(['vars', 'input', 'nodes', 'error']);

function walk(ast: unknown, refs: Refs, inPathHead = false): void {
  if (Array.isArray(ast)) {
    for (const child of ast) walk(child, refs);
    return;
  }
  if (!ast || typeof ast !== 'object') return;
  const node = ast as AstNode;
  if (node.type === 'variable' && (node.value === '' || node.value === '$') && !inPathHead) refs.dynamic = true;
  if (node.type === 'path' && node.steps) {
    const steps = node.steps;
    // `$.vars.x` starts with the context variable `$`.
    const from = steps[0]?.type === 'variable' && steps[0].value === '' && steps.length > 1 ? 1 : 0;
    const root = steps[from];
    const name = steps[from + 1];
    if (root?.type === 'name' && typeof root.value === 'string' && ROOTS.has(root.value)) {
      const literal = name?.type === 'name' && typeof name.value === 'string' ? name.value : undefined;
      if (root.value === 'error' || literal === undefined) refs.dynamic = true;
      else if (root.value === 'nodes') refs.nodes.add(literal);
      else refs.vars.add(literal);
    }
    steps.forEach((step, i) => walk(step, refs, i === 0 && from === 1));
    for (const [key, value] of Object.entries(node)) if (key !== 'steps') walk(value, refs);
    return;
  }
  for (const value of Object.values(node)) walk(value, refs);
}

const refsCache = new Map<string, Refs>();

function expressionRefs(source: string): Refs {
  let refs = refsCache.get(source);
  if (!refs) {
    refs = { vars: new Set(), nodes: new Set(), dynamic: false };
    try {
      walk(jsonata(source).ast(), refs);
    } catch {
      // Validation rejects expressions that do not parse; one that slips through reads anything.
      refs.dynamic = true;
    }
    if (refsCache.size > 10_000) refsCache.clear();
    refsCache.set(source, refs);
  }
  return refs;
}

/** The expressions of a node that compute its output, and per set-node assignment. */
function nodeSources(node: Node): { all: string[]; assign?: Record<string, string> } {
  return nodeModule(node).taintSources(node);
}

function isTainted(sources: string[], vars: ReadonlySet<string>, nodes: ReadonlySet<string>): boolean {
  if (vars.size === 0 && nodes.size === 0) return false;
  return sources.some((source) => {
    const refs = expressionRefs(source);
    return refs.dynamic || [...refs.vars].some((v) => vars.has(v)) || [...refs.nodes].some((n) => nodes.has(n));
  });
}

const cache = new WeakMap<object, Taint>();

/** The tainted variables and nodes of a definition (computed once per definition object). */
export function taintOf(definition: Pick<Definition, 'variables' | 'nodes'>): Taint {
  const cached = cache.get(definition);
  if (cached) return cached;
  const vars = new Set(definition.variables.filter((v) => v.secret).map((v) => v.name));
  const nodes = new Set<string>();
  let changed = vars.size > 0;
  while (changed) {
    changed = false;
    for (const node of definition.nodes) {
      const sources = nodeSources(node);
      if (!nodes.has(node.id) && isTainted(sources.all, vars, nodes)) {
        nodes.add(node.id);
        changed = true;
      }
      if (!nodes.has(node.id)) continue;
      const written = [
        ...Object.entries(sources.assign ?? {})
          .filter(([, source]) => isTainted([source], vars, nodes))
          .map(([name]) => name),
        ...(node.output === undefined ? [] : [node.output]),
      ];
      for (const name of written) {
        if (!vars.has(name)) {
          vars.add(name);
          changed = true;
        }
      }
    }
  }
  const taint: Taint = { vars, nodes };
  cache.set(definition, taint);
  return taint;
}

/** Whether `options.result` reads a secret or a value derived from one: the run's result is then masked whole. */
export function resultTainted(definition: Pick<Definition, 'variables' | 'nodes' | 'options'>): boolean {
  return readsSecret(definition, definition.options.result);
}

/** Whether an expression of the definition reads a secret or a value derived from one (its values are then shown as `***`). */
export function readsSecret(definition: Pick<Definition, 'variables' | 'nodes'>, source: string | undefined): boolean {
  if (source === undefined) return false;
  const taint = taintOf(definition);
  return isTainted([source], taint.vars, taint.nodes);
}

/**
 * Per task node (and map node with a task body) whose params use a tainted value: the JSON
 * Pointers (into the rendered params) of the tainted templates. The workflow hands them to the
 * activity, which masks the rendered values there in its failures, as it masks `secret:NAME`
 * values: a connector error quoting a URL built from a secret variable shows `***`.
 */
export function taintedParamPointers(definition: Pick<Definition, 'variables' | 'nodes'>): Map<string, string[]> {
  const taint = taintOf(definition);
  const vars = taint.vars as Set<string>;
  const nodes = taint.nodes as Set<string>;
  const pointers = new Map<string, string[]>();
  for (const node of definition.nodes) {
    if (!taint.nodes.has(node.id)) continue;
    const inputs = node.type === 'task' ? node.inputs : node.type === 'map' ? node.task?.inputs : undefined;
    if (inputs === undefined) continue;
    const tainted = templateExpressions(inputs)
      .filter(([, expression]) => isTainted([expression], vars, nodes))
      .map(([pointer]) => pointer);
    if (tainted.length > 0) pointers.set(node.id, [...new Set(tainted)]);
  }
  return pointers;
}
