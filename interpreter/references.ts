/**
 * The expressions inside `{{ }}` templates, with their JSON Pointers. Validation resolves the
 * names they read (name-resolution.ts); taint and lineage follow what they read.
 */
import { escapePointer, parseTemplate } from './expressions.js';

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
