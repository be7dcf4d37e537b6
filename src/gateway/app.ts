/**
 * The gateway: express app with the v1 routes. Built from injected dependencies so tests run it
 * in-process against a real Temporal server and a real store.
 */
import express, { type Request } from 'express';
import { z } from 'zod';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { validateDefinition, type ConnectorCatalog } from '../../interpreter/validate-definition.js';
import type { Logger } from '../logger.js';
import type { DefinitionStore } from '../store/definition-store.js';
import { errorHandler, notFound, notFoundHandler, parseOrThrow, validationFailed } from './http-error.js';
import { controlRoutes } from './control-routes.js';
import type { RunControl } from './run-control.js';
import type { RunService } from './run-service.js';

export interface GatewayDeps {
  store: DefinitionStore;
  runs: RunService;
  catalog: ConnectorCatalog;
  logger: Logger;
  /** Checks that Temporal answers; used by `/readyz`. */
  temporalReady: () => Promise<void>;
  /** Operator actions and events; without it those routes are absent. */
  control?: RunControl;
  /** Upper bound for request bodies. */
  bodyLimit?: string;
}

const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

const StartRunBody = z.strictObject({
  input: z.record(z.string(), z.unknown()).optional(),
  version: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'expected a version such as "3"')
    .optional(),
  run_id: z
    .string()
    .regex(
      RUN_ID_PATTERN,
      'expected 1-200 characters: letters, digits, ".", "_", ":", "-", starting with a letter or digit',
    )
    .optional(),
});

const SetActiveBody = z.strictObject({ version: z.string().regex(/^[1-9][0-9]*$/, 'expected a version such as "3"') });

/** Who made the request. Authentication comes later; until then every caller is anonymous. */
function actor(_req: Request): string {
  return 'anonymous';
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}

export function createGateway(deps: GatewayDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: deps.bodyLimit ?? '2mb', strict: false, type: () => true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    await Promise.all([
      deps.temporalReady().then(
        () => (checks.temporal = 'ok'),
        (err: unknown) => (checks.temporal = `unavailable: ${err instanceof Error ? err.message : String(err)}`),
      ),
      deps.store.ping().then(
        () => (checks.store = 'ok'),
        (err: unknown) => (checks.store = `unavailable: ${err instanceof Error ? err.message : String(err)}`),
      ),
    ]);
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });

  const validate = (body: unknown) => {
    const result = validateDefinition(body, deps.catalog);
    if (!result.ok) throw validationFailed(result.problems, 'the definition is invalid');
    return result.definition;
  };

  app.post('/v1/definitions/validate', (req, res) => {
    validate(req.body);
    res.json({ valid: true });
  });

  app.post('/v1/definitions', async (req, res) => {
    const definition = validate(req.body);
    const stored = await deps.store.submit(definition, actor(req));
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

  app.put('/v1/definitions/:id/active', async (req, res) => {
    const { version } = parseOrThrow(SetActiveBody, req.body);
    if (!(await deps.store.setActive(param(req, 'id'), version))) {
      throw notFound(`version "${version}" of definition "${param(req, 'id')}"`);
    }
    res.json({ id: param(req, 'id'), active_version: version });
  });

  app.post('/v1/definitions/:id/runs', async (req, res) => {
    const body = parseOrThrow(StartRunBody, req.body ?? {});
    const id = param(req, 'id');
    const definition = await deps.store.get(id, body.version);
    if (!definition) {
      throw notFound(
        body.version === undefined ? `definition "${id}"` : `version "${body.version}" of definition "${id}"`,
      );
    }
    const input = body.input ?? {};
    const resolved = resolveRunInput(definition, input);
    if (!resolved.ok) throw validationFailed(resolved.problems, 'the run input does not match the declared variables');
    const started = await deps.runs.start(definition, input, body.run_id);
    deps.logger.info({ run_id: started.run_id, definition: id, version: definition.version }, 'run started');
    res.status(201).json(started);
  });

  app.get('/v1/runs/:run_id', async (req, res) => {
    res.json(await deps.runs.state(param(req, 'run_id')));
  });

  app.get('/v1/runs/:run_id/result', async (req, res) => {
    const wait = req.query.wait;
    if (wait !== undefined && wait !== 'true' && wait !== 'false') {
      throw validationFailed([{ path: '/query/wait', message: 'expected "true" or "false"' }]);
    }
    res.json(await deps.runs.result(param(req, 'run_id'), wait === 'true' ? 60_000 : 0));
  });

  if (deps.control) controlRoutes(app, { control: deps.control, actor });

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
