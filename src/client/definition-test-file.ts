/**
 * Test files of definitions (`<name>.test.json`, next to `<name>.json`): cases of input and
 * mocks with what each is expected to give, run by `weft test` through
 * `POST /v1/definitions/test`. Only what a case's `expect` gives is compared.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { Mocks } from '../../interpreter/definition-test.js';
import type { TestRunResult } from '../../interpreter/definition-test.js';

const RUN_STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;
const NODE_STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'] as const;

const ExpectedError = z.strictObject({
  type: z.string().optional(),
  message: z.string().optional(),
  node: z.string().optional(),
});

export const TestExpectation = z.strictObject({
  status: z.enum(RUN_STATUSES).optional(),
  path: z.array(z.string()).optional().meta({ description: 'node ids in the order they ran, exactly' }),
  variables: z
    .record(z.string(), z.json())
    .optional()
    .meta({ description: 'the variables named here, each equal; other variables are not compared' }),
  result: z.json().optional(),
  nodes: z
    .record(
      z.string(),
      z.strictObject({
        status: z.enum(NODE_STATUSES).optional(),
        output: z.json().optional(),
        attempts: z.int().min(0).optional(),
        error: ExpectedError.optional(),
      }),
    )
    .optional()
    .meta({ description: 'per node, the fields given' }),
  error: ExpectedError.optional().meta({ description: "the run's error: the fields given" }),
});

export const TestCase = z.strictObject({
  name: z.string().min(1, 'expected a name for the case'),
  input: z.record(z.string(), z.json()).default({}),
  mocks: Mocks.default({}),
  allow_calls: z
    .array(z.string())
    .optional()
    .meta({ description: 'task nodes that make their calls for real (as `allow_calls` of POST /v1/definitions/test)' }),
  expect: TestExpectation,
});

export const DefinitionTestFile = z
  .strictObject({
    $schema: z.string().optional(),
    definition: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())])
      .optional()
      .meta({
        description:
          'the definition: a path relative to this file, or the definition itself; default: <name>.json next to <name>.test.json',
      }),
    definition_id: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'a stored definition instead (its active version, or `version`)' }),
    version: z.string().optional(),
    cases: z.array(TestCase).min(1, 'expected at least one case'),
  })
  .superRefine((file, ctx) => {
    if (file.definition !== undefined && file.definition_id !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['definition_id'],
        message: 'expected "definition" or "definition_id", not both',
      });
    if (file.version !== undefined && file.definition_id === undefined)
      ctx.addIssue({ code: 'custom', path: ['version'], message: '"version" goes with "definition_id"' });
    const names = new Set<string>();
    file.cases.forEach((c, i) => {
      if (names.has(c.name))
        ctx.addIssue({ code: 'custom', path: ['cases', i, 'name'], message: `a second case named "${c.name}"` });
      names.add(c.name);
    });
  });

export type DefinitionTestFileValue = z.output<typeof DefinitionTestFile>;
export type TestExpectationValue = z.output<typeof TestExpectation>;

const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));
const has = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);

/** Every difference between what a case expects and what the test run gave, one readable line (or two) each. */
export function mismatches(expect: TestExpectationValue, actual: TestRunResult): string[] {
  const lines: string[] = [];
  const differ = (what: string, expected: unknown, got: unknown) => {
    if (!isDeepStrictEqual(expected, got))
      lines.push(`${what}: expected ${show(expected)}`, `${' '.repeat(what.length)}       got ${show(got)}`);
  };
  if (expect.status !== undefined && expect.status !== actual.status) {
    const why = actual.error
      ? ` (${actual.error.type}${actual.error.node ? ` at "${actual.error.node}"` : ''}: ${actual.error.message})`
      : '';
    lines.push(`status: expected "${expect.status}", got "${actual.status}"${why}`);
  }
  if (expect.path !== undefined && !isDeepStrictEqual(expect.path, actual.path)) {
    const at = expect.path.findIndex((id, i) => actual.path[i] !== id);
    const first = at === -1 ? expect.path.length : at;
    lines.push(
      `path: expected ${expect.path.join(' → ') || '(nothing)'}`,
      `           got ${actual.path.join(' → ') || '(nothing)'}`,
      `      first difference at step ${first + 1}: expected ${show(expect.path[first])}, got ${show(actual.path[first])}`,
    );
  }
  for (const [name, value] of Object.entries(expect.variables ?? {}))
    differ(`variables.${name}`, value, has(actual.variables, name) ? actual.variables[name] : undefined);
  if (has(expect, 'result')) differ('result', expect.result, actual.result);
  for (const [id, fields] of Object.entries(expect.nodes ?? {})) {
    const node = actual.nodes[id];
    if (!node) {
      lines.push(`nodes.${id}: expected the node, but the run has no node "${id}"`);
      continue;
    }
    if (fields.status !== undefined) differ(`nodes.${id}.status`, fields.status, node.status);
    if (has(fields, 'output')) differ(`nodes.${id}.output`, fields.output, node.output);
    if (fields.attempts !== undefined) differ(`nodes.${id}.attempts`, fields.attempts, node.attempts);
    for (const [key, value] of Object.entries(fields.error ?? {}))
      differ(`nodes.${id}.error.${key}`, value, (node.error as Record<string, unknown> | undefined)?.[key]);
  }
  for (const [key, value] of Object.entries(expect.error ?? {}))
    differ(`error.${key}`, value, (actual.error as Record<string, unknown> | undefined)?.[key]);
  return lines;
}
