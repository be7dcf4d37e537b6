/**
 * The static references of expressions and templates (`vars.order`, `nodes.fetch.output`): what
 * a value is computed from, read off JSONata's AST without evaluating anything. Lineage records
 * them per write; each node type (interpreter/nodes/) says which of its expressions count.
 */
import jsonata from 'jsonata';
import { templateExpressions } from './references.js';

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

/** The lists merged, each reference once, in order of first appearance. */
export function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

/** The static references of every `{{ }}` expression in a template value. */
export function templateInputs(value: unknown): string[] {
  return union(templateExpressions(value).map(([, expression]) => expressionInputs(expression)));
}
