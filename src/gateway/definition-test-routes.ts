/**
 * `POST /v1/definitions/test`: a definition test run. The definition (given inline, or a stored
 * version) runs on the real engine with the request's mocks answering every task, model call,
 * child run, event and approval (`interpreter/definition-test.ts`); nothing is called, stored
 * or started. It runs in the gateway process, bounded: the engine's expression budgets, at most
 * `TEST_LIMITS.steps` steps, and the event loop given back (a macrotask) after every step and
 * every evaluation slice. Task nodes named in `allow_calls` make their calls for real
 * (`test-calls.ts`).
 */
import type { Express } from 'express';
import { z } from 'zod';
import { DEFINITION_ID_PATTERN, type Definition } from '../../interpreter/definition-schema.js';
import {
  Mocks,
  TestLimitExceeded,
  allowCallsProblems,
  mockProblems,
  runDefinitionTest,
  type TestRunResult,
} from '../../interpreter/definition-test.js';
import type { Problem } from '../../interpreter/problems.js';
import { runQuotas } from '../../interpreter/quotas.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { HttpError, notFound, parseOrThrow, validationFailed } from '../shared/http-error.js';
import { validateForTenant } from './definition-routes.js';
import { actor, type GatewayDeps } from './gateway-deps.js';
import { testCalls } from './test-calls.js';
import type { TenantScope } from './tenant-scopes.js';

/** The body of `POST /v1/definitions/test`: exactly one of `definition` and `definition_id`. */
export const DefinitionTestBody = z
  .strictObject({
    definition: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'a definition (as for /v1/definitions/validate), not stored' }),
    definition_id: z
      .string()
      .regex(DEFINITION_ID_PATTERN, 'expected a definition id')
      .optional()
      .meta({ description: 'a stored definition: its active version, or `version`' }),
    version: z
      .string()
      .regex(/^[1-9][0-9]*$/, 'expected a version such as "3"')
      .optional()
      .meta({ description: 'with definition_id: the stored version to test' }),
    input: z.record(z.string(), z.json()).default({}).meta({ description: 'the run input, as for a start' }),
    mocks: Mocks.default({}).meta({ description: 'node id → its answer(s); see the README, "Definition tests"' }),
    allow_calls: z.array(z.string()).max(100, 'expected at most 100 node ids').default([]).meta({
      description:
        'task nodes that make their connector calls for real (the activity code in the gateway, egress policy applied, one attempt, no result cache); not also in `mocks`',
    }),
  })
  .superRefine((body, ctx) => {
    if ((body.definition === undefined) === (body.definition_id === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of "definition" and "definition_id"' });
    if (body.version !== undefined && body.definition_id === undefined)
      ctx.addIssue({ code: 'custom', path: ['version'], message: '"version" goes with "definition_id"' });
  });

export type DefinitionTestRequest = z.output<typeof DefinitionTestBody>;

/** The definition a test request names, validated (inline) or loaded (stored). */
async function definitionOf(
  body: DefinitionTestRequest,
  deps: GatewayDeps,
  scope: TenantScope,
): Promise<Definition & { version?: string }> {
  if (body.definition_id === undefined) {
    try {
      return validateForTenant(body.definition, deps, scope, 'validate');
    } catch (err) {
      // The same problems as /validate, pointing into this body's `definition`.
      if (err instanceof HttpError && err.details)
        throw new HttpError(
          err.code,
          err.message,
          err.details.map((p) => ({ ...p, path: `/definition${p.path === '/' ? '' : p.path}` })),
        );
      throw err;
    }
  }
  const stored = await scope.definitions.get(body.definition_id, body.version);
  if (!stored)
    throw notFound(
      body.version === undefined
        ? `definition "${body.definition_id}"`
        : `version "${body.version}" of definition "${body.definition_id}"`,
    );
  return stored;
}

/** Runs a definition test for the caller's tenant; throws the route's 400 / 404 / 409 problems. */
export async function testDefinition(
  raw: unknown,
  deps: GatewayDeps,
  scope: TenantScope,
  startedBy: string,
): Promise<TestRunResult> {
  const body = parseOrThrow(DefinitionTestBody, raw);
  const definition = await definitionOf(body, deps, scope);
  const problems: Problem[] = [];
  const resolved = resolveRunInput(definition, body.input, '/input');
  if (!resolved.ok) problems.push(...resolved.problems);
  problems.push(...mockProblems(definition, body.mocks));
  problems.push(...allowCallsProblems(definition, body.allow_calls, body.mocks));
  if (problems.length > 0 || !resolved.ok) throw validationFailed(problems, 'the test cannot run');
  const runId = `test-${definition.id}`;
  const calls = body.allow_calls.length > 0 ? await testCalls(deps, scope, runId) : undefined;
  try {
    return await runDefinitionTest(definition, body.input, resolved.variables, body.mocks, {
      now: new Date().toISOString(),
      pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
      quotas: runQuotas(scope.tenant.quotas),
      startedBy,
      runId,
      ...(calls ? { calls: { nodes: new Set(body.allow_calls), run: calls.run } } : {}),
    });
  } catch (err) {
    if (err instanceof TestLimitExceeded) throw new HttpError('rejected', err.message);
    throw err;
  } finally {
    await calls?.close();
  }
}

export function definitionTestRoutes(app: Express, deps: GatewayDeps): void {
  app.post('/v1/definitions/test', async (req, res) => {
    res.json(await testDefinition(req.body, deps, await deps.scopes.ofRequest(req), actor(req)));
  });
}
