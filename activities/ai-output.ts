/**
 * What an AI step does with the model's answer: nothing (text), validate it against a JSON
 * Schema, or evaluate a `{ "var": "jsonata" }` map over it. Failures are listed as plain
 * sentences, because they are sent back to the model to repair its answer.
 */
import { z } from 'zod';
import { evaluate } from '../interpreter/expressions.js';
import { ErrorTypes, nonRetryableFailure } from './errors.js';

export type OutputMapping =
  | { kind: 'text' }
  | { kind: 'schema'; schema: Record<string, unknown>; validator: z.ZodType }
  | { kind: 'map'; expressions: Record<string, string> };

export type MappedOutput = { ok: true; output: unknown } | { ok: false; errors: string[] };

/** A mapping is a JSON Schema when it says so (`$schema`) or looks like one (`type`, `properties`). */
export function isJsonSchema(mapping: Record<string, unknown>): boolean {
  return 'type' in mapping || 'properties' in mapping || '$schema' in mapping;
}

/** Compiles an `output_mapping`; a malformed one fails non-retryably with `InvalidParams`. */
export function compileOutputMapping(mapping: Record<string, unknown> | undefined, node: string): OutputMapping {
  if (mapping === undefined) return { kind: 'text' };
  if (isJsonSchema(mapping)) {
    try {
      return { kind: 'schema', schema: mapping, validator: z.fromJSONSchema(mapping) };
    } catch (err) {
      throw nonRetryableFailure(
        ErrorTypes.InvalidParams,
        `node "${node}": output_mapping is not a usable JSON Schema: ${(err as Error).message}`,
      );
    }
  }
  const expressions: Record<string, string> = {};
  for (const [name, expression] of Object.entries(mapping)) {
    if (typeof expression !== 'string') {
      throw nonRetryableFailure(
        ErrorTypes.InvalidParams,
        `node "${node}": output_mapping.${name} must be a JSONata expression (a string)`,
      );
    }
    expressions[name] = expression;
  }
  return { kind: 'map', expressions };
}

/** Models like to wrap JSON in a Markdown code fence even when asked not to. */
function unfence(answer: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/i.exec(answer);
  return fenced?.[1] ?? answer;
}

function parseJson(answer: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(unfence(answer)) as unknown };
  } catch {
    return { ok: false };
  }
}

function issuePath(path: PropertyKey[]): string {
  return path.length === 0 ? '(answer)' : path.map(String).join('.');
}

/** Applies the mapping to the model's answer. */
export async function mapAnswer(answer: string, mapping: OutputMapping): Promise<MappedOutput> {
  if (mapping.kind === 'text') return { ok: true, output: answer };
  const parsed = parseJson(answer);
  if (mapping.kind === 'schema') {
    if (!parsed.ok) return { ok: false, errors: ['the answer is not valid JSON'] };
    const result = mapping.validator.safeParse(parsed.value);
    if (result.success) return { ok: true, output: parsed.value };
    return { ok: false, errors: result.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`) };
  }
  const context = parsed.ok ? parsed.value : answer;
  const output: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [name, expression] of Object.entries(mapping.expressions)) {
    try {
      output[name] = (await evaluate(expression, context)) ?? null;
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, output };
}

/** The message that asks the model to fix an answer that failed the mapping. */
export function repairInstruction(errors: string[], mapping: OutputMapping): string {
  const shape = mapping.kind === 'schema' ? ' as JSON that satisfies the required schema' : '';
  return [
    'Your previous answer could not be used:',
    ...errors.map((e) => `- ${e}`),
    `Answer again with the corrected answer only${shape}, with no other text.`,
  ].join('\n');
}
