/**
 * The gateway: express app with the v1 routes. Built from injected dependencies so tests run it
 * in-process against a real Temporal server and a real store.
 */
import express from 'express';
import { createGatewayMetrics } from '../metrics/gateway-metrics.js';
import { AuditLog, auditRoutes, requestId } from './audit.js';
import { codecCors, codecRoutes } from './codec-routes.js';
import { controlRoutes } from './control-routes.js';
import { definitionRoutes } from './definition-routes.js';
import { docsPage } from './docs-page.js';
import { type GatewayDeps } from './gateway-deps.js';
import { accessRoutes } from './access-routes.js';
import { publishingRoutes } from './publishing-routes.js';
import { hookRoutes } from './hook-routes.js';
import { errorHandler, HttpError, notFoundHandler } from './http-error.js';
import { DEFAULT_TENANT } from '../auth/identity.js';
import { lineageRoutes } from './lineage-routes.js';
import { definitionJsonSchema } from './openapi-schemas.js';
import { openApiDocument } from './openapi.js';
import { rateLimit } from './rate-limit.js';
import { jsonBody } from './request-body.js';
import { runRoutes } from './run-routes.js';

export type { GatewayDeps } from './gateway-deps.js';

export function createGateway(deps: GatewayDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const audit = new AuditLog(deps.store, deps.logger);
  // Before the body parser, so a request refused for its body (or its credentials) is logged too;
  // authentication before parsing, so no body is parsed for a caller who may not send it.
  if (deps.codec) app.use('/codec', codecCors(deps.codec.allowedOrigins));
  app.use(requestId, audit.middleware, deps.auth.middleware);
  app.use(...jsonBody(deps.bodyLimit ?? '2mb'));
  if (deps.rateLimit) {
    // An API key's id when authentication set one, so callers behind one address count apart.
    const keyOf = (req: express.Request) => req.identity?.key_id ?? req.ip ?? '';
    app.use(rateLimit({ ...deps.rateLimit, keyOf }));
  }
  const metrics = deps.metrics ?? createGatewayMetrics();

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

  app.get('/metrics', async (req, res) => {
    // The series cover the whole installation: its operators (default tenant) read them.
    if (req.identity && req.identity.tenant !== DEFAULT_TENANT) {
      throw new HttpError('forbidden', 'metrics cover every tenant: only roles of the default tenant read them');
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument({ codec: deps.codec !== undefined }));
  });

  app.get('/v1/schema/definition.json', (_req, res) => {
    res.type('application/schema+json').send(JSON.stringify(definitionJsonSchema()));
  });

  docsPage(app);
  definitionRoutes(app, deps);
  publishingRoutes(app, deps);
  runRoutes(app, { ...deps, metrics });
  lineageRoutes(app, deps);
  hookRoutes(app, { ...deps, metrics });
  auditRoutes(app, audit, deps.store);
  controlRoutes(app, deps);
  accessRoutes(app, deps);
  if (deps.codec) codecRoutes(app, deps.codec);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
