/**
 * The definition routes: validate, submit (versioned), list, read, diff two versions, and
 * choose the active version. Activating a version (by submit, `PUT /active` or an approval)
 * brings its Temporal Schedules in step. Everything acts in the caller's tenant. With four-eyes
 * publishing on for the tenant, a submitted version waits for an approval (publishing-routes.ts).
 */
import { quotaProblems } from '../../interpreter/quotas.js';
import { connectionProblems } from './connection-checks.js';
import type { Express, Request } from 'express';
import { z } from 'zod';
import type { Definition } from '../../interpreter/definition-schema.js';
import type { Problem } from '../../interpreter/problems.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { parseVersion, type SubmitResult } from '../store/definition-store.js';
import { diffDefinitions } from './definition-diff.js';
import { parseWindow } from './definition-stats.js';
import { actor, param, type GatewayDeps } from './gateway-deps.js';
import { activateSchedules, isApproved } from './activation.js';
import type { TenantScope } from './tenant-scopes.js';
import { HttpError, notFound, parseOrThrow, validationFailed } from '../shared/http-error.js';
import { triggerProblems } from './trigger-checks.js';
import { diffWithoutSecretDefaults, withoutSecretDefaults } from './secret-defaults.js';

const VERSION_MESSAGE = 'expected a version such as "3"';

/** The body of `PUT /v1/definitions/{id}/active`. */
export const SetActiveBody = z.strictObject({ version: z.string().regex(/^[1-9][0-9]*$/, VERSION_MESSAGE) });

/** The query string of `GET /v1/definitions/{id}/stats` (the window's format is checked by `parseWindow`). */
export const StatsQuery = z.strictObject({ window: z.string().optional() });

/** The problems of a definition as `POST /v1/definitions` sees them: the language, then its triggers. */
export function definitionProblems(body: unknown, deps: GatewayDeps): Problem[] {
  const result = validateDefinition(body, deps.catalog, deps.checkParams);
  return result.ok ? triggerProblems(result.definition) : result.problems;
}

/**
 * Validates a definition exactly as `POST /v1/definitions` and `/validate` do (the language, its
 * triggers, the tenant's quotas), or throws `validation_failed` with every problem.
 */
export function validateForTenant(
  body: unknown,
  deps: GatewayDeps,
  scope: TenantScope,
  at: 'submit' | 'validate',
  message = 'the definition is invalid',
): Definition {
  return validateWithWarnings(body, deps, scope, at, message).definition;
}

/** {@link validateForTenant}, with the definition's warnings (definition-warnings.ts). */
export function validateWithWarnings(
  body: unknown,
  deps: GatewayDeps,
  scope: TenantScope,
  at: 'submit' | 'validate',
  message = 'the definition is invalid',
): { definition: Definition; warnings: Problem[] } {
  const result = validateDefinition(body, deps.catalog, deps.checkParams);
  const problems = result.ok
    ? [...triggerProblems(result.definition), ...connectionProblems(result.definition, scope.connections)]
    : result.problems;
  if (!result.ok || problems.length > 0) throw validationFailed(problems, message);
  refuseOverQuota(result.definition, scope, at, deps.metrics);
  return { definition: result.definition, warnings: result.warnings };
}

/**
 * Stores a validated definition as `POST /v1/definitions` does: the next version (or nothing,
 * when identical to the latest), its change history, activation unless the tenant publishes
 * four-eyes, and its schedules. Answers the route's status and body.
 */
export async function submitDefinition(
  scope: TenantScope,
  definition: Definition,
  who: string,
): Promise<{ status: 200 | 201; body: SubmitResult & { approval?: 'pending' } }> {
  const fourEyes = scope.tenant.fourEyes;
  const stored = await scope.definitions.submit(definition, who, { keepActive: fourEyes });
  if (stored.created) {
    const at = new Date().toISOString();
    await scope.definitions.recordChange(stored.id, { at, actor: who, action: 'submitted', version: stored.version });
    if (!fourEyes) {
      const active = (await scope.definitions.list()).find((d) => d.id === stored.id)?.active_version;
      if (active === stored.version)
        await scope.definitions.recordChange(stored.id, {
          at,
          actor: who,
          action: 'activated',
          version: stored.version,
        });
    }
  }
  // Also after an identical resubmit: that is how a caller retries a failed schedule update.
  if (!fourEyes) await activateSchedules(scope, stored.id, stored.version);
  return {
    status: stored.created ? 201 : 200,
    body: fourEyes && stored.created ? { ...stored, approval: 'pending' } : stored,
  };
}

export function definitionRoutes(app: Express, deps: GatewayDeps): void {
  const validate = (body: unknown, scope: TenantScope, at: 'submit' | 'validate') =>
    validateWithWarnings(body, deps, scope, at);
  const scopeOf = (req: Request): Promise<TenantScope> => deps.scopes.ofRequest(req);

  app.post('/v1/definitions/validate', async (req, res) => {
    const { warnings } = validate(req.body, await scopeOf(req), 'validate');
    res.json({ valid: true, warnings });
  });

  app.post('/v1/definitions', async (req, res) => {
    const scope = await scopeOf(req);
    const { definition, warnings } = validate(req.body, scope, 'submit');
    const { status, body } = await submitDefinition(scope, definition, actor(req));
    // Warnings do not stop a submit; they are in the answer when there are any.
    res.status(status).json({ ...body, ...(warnings.length > 0 ? { warnings } : {}) });
  });

  app.get('/v1/definitions', async (req, res) => {
    res.json({ items: await (await scopeOf(req)).definitions.list() });
  });

  app.get('/v1/definitions/:id', async (req, res) => {
    const definition = await (await scopeOf(req)).definitions.get(param(req, 'id'));
    if (!definition) throw notFound(`definition "${param(req, 'id')}"`);
    res.json(withoutSecretDefaults(definition));
  });

  app.get('/v1/definitions/:id/versions', async (req, res) => {
    const items = await (await scopeOf(req)).definitions.versions(param(req, 'id'));
    if (!items) throw notFound(`definition "${param(req, 'id')}"`);
    res.json({ items });
  });

  app.get('/v1/definitions/:id/versions/:version', async (req, res) => {
    const definition = await (await scopeOf(req)).definitions.get(param(req, 'id'), param(req, 'version'));
    if (!definition) throw notFound(`version "${param(req, 'version')}" of definition "${param(req, 'id')}"`);
    res.json(withoutSecretDefaults(definition));
  });

  app.get('/v1/definitions/:id/versions/:a/diff/:b', async (req, res) => {
    const id = param(req, 'id');
    const [a, b] = [param(req, 'a'), param(req, 'b')];
    const problems: Problem[] = [];
    if (parseVersion(a) === undefined) problems.push({ path: '/path/a', message: VERSION_MESSAGE });
    if (parseVersion(b) === undefined) problems.push({ path: '/path/b', message: VERSION_MESSAGE });
    if (problems.length > 0) throw validationFailed(problems);
    const { definitions } = await scopeOf(req);
    const [from, to] = await Promise.all([definitions.get(id, a), definitions.get(id, b)]);
    if (!from) throw notFound(`version "${a}" of definition "${id}"`);
    if (!to) throw notFound(`version "${b}" of definition "${id}"`);
    res.json(diffWithoutSecretDefaults(diffDefinitions(from, to)));
  });

  app.get('/v1/definitions/:id/stats', async (req, res) => {
    const query = parseOrThrow(StatsQuery, req.query, '/query');
    const window = query.window ?? '24h';
    const windowMs = parseWindow(window);
    const id = param(req, 'id');
    const scope = await scopeOf(req);
    if (!(await scope.definitions.versions(id))) throw notFound(`definition "${id}"`);
    if (!scope.stats) throw new HttpError('unavailable', 'run statistics are not available on this gateway');
    res.json(await scope.stats.compute(id, window, windowMs));
  });

  app.put('/v1/definitions/:id/active', async (req, res) => {
    const { version } = parseOrThrow(SetActiveBody, req.body);
    const id = param(req, 'id');
    const scope = await scopeOf(req);
    if (!(await scope.definitions.get(id, version))) throw notFound(`version "${version}" of definition "${id}"`);
    if (scope.tenant.fourEyes && !(await isApproved(scope, id, version))) {
      throw new HttpError(
        'rejected',
        `four-eyes publishing: version ${version} of "${id}" must be approved by an approver other than its author before it can be active`,
      );
    }
    await scope.definitions.setActive(id, version);
    await scope.definitions.recordChange(id, {
      at: new Date().toISOString(),
      actor: actor(req),
      action: 'activated',
      version,
    });
    await activateSchedules(scope, id, version);
    res.json({ id, active_version: version });
  });
}

/** A valid definition asking for more than the tenant's quotas (`quotaProblems`) is refused, with pointers. */
function refuseOverQuota(
  definition: Definition,
  scope: TenantScope,
  at: 'submit' | 'validate',
  metrics: GatewayDeps['metrics'],
): void {
  const problems = quotaProblems(definition, scope.tenant.quotas);
  if (problems.length === 0) return;
  for (const quota of new Set(problems.map((p) => p.quota)))
    metrics?.quotaRefusals.inc({ tenant: scope.tenant.id, quota, at });
  throw validationFailed(
    problems.map(({ path, message }) => ({ path, message })),
    "the definition asks for more than the tenant's quotas allow",
  );
}
