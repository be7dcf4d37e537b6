/**
 * What task, ai and subworkflow nodes share with a map node's body of the same kind: their
 * template expressions, their lineage inputs, their taint sources, their recorded mock.
 */
import { templateInputs } from '../expression-inputs.js';
import { templateExpressions } from '../references.js';
import type { NodeView, RecordedMock } from './types.js';

/** The template fields of a task, ai or subworkflow body: a node of its own, or a map node's per-item work. */
export interface Body {
  inputs?: Record<string, unknown>;
  compensation?: { inputs: Record<string, unknown> };
  prompt_template?: string;
  system?: string;
  resource_limits?: { concurrency_key?: string };
}

/** The body's expressions with their JSON Pointers under `at`. */
export function bodyExpressions(at: string, body: Body): Array<[string, string]> {
  const templates = (pointer: string, value: unknown) =>
    templateExpressions(value).map(([p, e]): [string, string] => [pointer + p, e]);
  return [
    ...(body.inputs === undefined ? [] : templates(`${at}/inputs`, body.inputs)),
    ...(body.compensation === undefined ? [] : templates(`${at}/compensation/inputs`, body.compensation.inputs)),
    ...(body.prompt_template === undefined ? [] : templates(`${at}/prompt_template`, body.prompt_template)),
    ...(body.system === undefined ? [] : templates(`${at}/system`, body.system)),
    ...(body.resource_limits?.concurrency_key === undefined
      ? []
      : [[`${at}/resource_limits/concurrency_key`, body.resource_limits.concurrency_key] as [string, string]]),
  ];
}

/** Expressions outside map bodies: no `item`, no event filter. */
export function plain(list: Array<[string, string]>, item = false): Array<[string, string, boolean, boolean]> {
  return list.map(([p, s]): [string, string, boolean, boolean] => [p, s, item, false]);
}

export function templateSources(value: unknown): string[] {
  return templateExpressions(value).map(([, expression]) => expression);
}

export { templateInputs };

/** A call's mock (task, ai, subworkflow): its output when it completed, its error when it failed. */
export function callMock(view: NodeView): RecordedMock | undefined {
  const error = view.error ? { type: view.error.type, message: view.error.message } : undefined;
  if (view.status === 'completed') return { output: view.output ?? null };
  return view.status === 'failed' && error ? { error } : undefined;
}

/** A node error as a mock states it. */
export function viewError(view: NodeView): { type: string; message: string } | undefined {
  return view.error ? { type: view.error.type, message: view.error.message } : undefined;
}
