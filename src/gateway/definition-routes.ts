/**
 * The definition routes: validate, submit (versioned), list, read, diff two versions, and
 * choose the active version. Activating a version (by submit or `PUT /active`) brings its
 * Temporal Schedules in step.
 */
import type { Express } from 'express';
import { z } from 'zod';
import type { Definition } from '../../interpreter/definition-schema.js';
import type { Problem } from '../../interpreter/problems.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { parseVersion } from '../store/definition-store.js';
import { diffDefinitions } from './definition-diff.js';
import { parseWindow } from './definition-stats.js';
import { actor, param, type GatewayDeps } from './gateway-deps.js';
import { HttpError, notFound, parseOrThrow, validationFailed } from './http-error.js';
import { triggerProblems } from './trigger-checks.js';

const VERSION_MESSAGE = 'expected a version such as "3"';

/** The body of `PUT /v1/definitions/{id}/active`. */
export const SetActiveBody = z.strictObject({ version: z.string().regex(/^[1-9][0-9]*$/, VERSION_MESSAGE) });

/** The query string of `GET /v1/definitions/{id}/stats` (the window's format is checked by `parseWindow`). */
export const StatsQuery = z.strictObject({ window: z.string().optional() });

export function definitionRoutes(app: Express, deps: GatewayDeps): void {
  const validate = (body: unknown): Definition => {
    const result = validateDefinition(body, deps.catalog, deps.checkParams);
    const problems = result.ok ? triggerProblems(result.definition) : result.problems;
    if (!result.ok || problems.length > 0) throw validationFailed(problems, 'the definition is invalid');
    return result.definition;
  };

  /** Brings schedules in step with the active version; a failure says the version is safe. */
  const activate = async (id: string, version: string): Promise<void> => {
    if (!deps.schedules) return;
    try {
      await deps.schedules.sync(id);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'unavailable') {
        throw new HttpError(
          'unavailable',
          `version ${version} of "${id}" is stored, but its schedules could not be updated (${err.message}); repeat the request to retry`,
        );
      }
      throw err;
    }
  };

  app.post('/v1/definitions/validate', (req, res) => {
    validate(req.body);
    res.json({ valid: true });
  });

  app.post('/v1/definitions', async (req, res) => {
    const definition = validate(req.body);
    const stored = await deps.store.submit(definition, actor(req));
    // Also after an identical resubmit: that is how a caller retries a failed schedule update.
    await activate(stored.id, stored.version);
    res.status(stored.created ? 201 : 200).json(stored);
  });

  app.get('/v1/definitions', async (_req, res) => {
    res.json({ items: await deps.store.list() });
  });

  app.get('/v1/definitions/:id', async (req, res) => {
    const definition = await deps.store.get(param(req, 'id'));
    if (!definition) throw notFound(`definition "${param(req, 'id')}"`);
    res.json(definition);
  });

  app.get('/v1/definitions/:id/versions', async (req, res) => {
    const items = await deps.store.versions(param(req, 'id'));
    if (!items) throw notFound(`definition "${param(req, 'id')}"`);
    res.json({ items });
  });

  app.get('/v1/definitions/:id/versions/:version', async (req, res) => {
    const definition = await deps.store.get(param(req, 'id'), param(req, 'version'));
    if (!definition) throw notFound(`version "${param(req, 'version')}" of definition "${param(req, 'id')}"`);
    res.json(definition);
  });

  app.get('/v1/definitions/:id/versions/:a/diff/:b', async (req, res) => {
    const id = param(req, 'id');
    const [a, b] = [param(req, 'a'), param(req, 'b')];
    const problems: Problem[] = [];
    if (parseVersion(a) === undefined) problems.push({ path: '/path/a', message: VERSION_MESSAGE });
    if (parseVersion(b) === undefined) problems.push({ path: '/path/b', message: VERSION_MESSAGE });
    if (problems.length > 0) throw validationFailed(problems);
    const [from, to] = await Promise.all([deps.store.get(id, a), deps.store.get(id, b)]);
    if (!from) throw notFound(`version "${a}" of definition "${id}"`);
    if (!to) throw notFound(`version "${b}" of definition "${id}"`);
    res.json(diffDefinitions(from, to));
  });

  app.get('/v1/definitions/:id/stats', async (req, res) => {
    const query = parseOrThrow(StatsQuery, req.query, '/query');
    const window = query.window ?? '24h';
    const windowMs = parseWindow(window);
    const id = param(req, 'id');
    if (!(await deps.store.get(id))) throw notFound(`definition "${id}"`);
    if (!deps.stats) throw new HttpError('unavailable', 'run statistics are not available on this gateway');
    res.json(await deps.stats.compute(id, window, windowMs));
  });

  app.put('/v1/definitions/:id/active', async (req, res) => {
    const { version } = parseOrThrow(SetActiveBody, req.body);
    const id = param(req, 'id');
    if (!(await deps.store.setActive(id, version))) throw notFound(`version "${version}" of definition "${id}"`);
    await activate(id, version);
    res.json({ id, active_version: version });
  });
}
