/**
 * Static references in expressions: `vars.<name>` and `nodes.<id>` paths whose name is a
 * literal. Used at submit time to report a variable nobody declares or writes, or a node that
 * does not exist, at the field that mentions it.
 */
import jsonata from 'jsonata';
import { escapePointer, parseTemplate } from './expressions.js';

export interface References {
  vars: string[];
  nodes: string[];
}

function walk(node: unknown, found: References): void {
  if (Array.isArray(node)) {
    for (const child of node) walk(child, found);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const ast = node as { type?: string; steps?: Array<{ type?: string; value?: unknown }> };
  if (ast.type === 'path' && ast.steps && ast.steps.length >= 2) {
    const [root, name] = ast.steps;
    if (root?.type === 'name' && name?.type === 'name' && typeof name.value === 'string') {
      if (root.value === 'vars') found.vars.push(name.value);
      if (root.value === 'nodes') found.nodes.push(name.value);
    }
  }
  for (const value of Object.values(node)) walk(value, found);
}

/** The literal `vars.*` and `nodes.*` references of one expression (none if it does not parse). */
export function referencesIn(source: string): References {
  const found: References = { vars: [], nodes: [] };
  try {
    walk(jsonata(source).ast(), found);
  } catch {
    // Syntax errors are reported by the syntax check.
  }
  return found;
}

/** Every `{{ expression }}` inside a value, with its relative JSON Pointer. */
export function templateExpressions(value: unknown, pointer = ''): Array<[string, string]> {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return [];
    try {
      return parseTemplate(value).flatMap((part) =>
        'expression' in part ? [[pointer, part.expression] as [string, string]] : [],
      );
    } catch {
      return [];
    }
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => templateExpressions(item, `${pointer}/${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => templateExpressions(v, `${pointer}/${escapePointer(k)}`));
  }
  return [];
}
