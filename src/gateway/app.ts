/**
 * The gateway: express app with the v1 routes. Built from injected dependencies so tests run it
 * in-process against a real Temporal server and a real store.
 */
import express from 'express';
import { createGatewayMetrics } from '../metrics/gateway-metrics.js';
import { AuditLog, auditRoutes, requestId } from './audit.js';
import { controlRoutes } from './control-routes.js';
import { definitionRoutes } from './definition-routes.js';
import { docsPage } from './docs-page.js';
import { actor, type GatewayDeps } from './gateway-deps.js';
import { hookRoutes } from './hook-routes.js';
import { errorHandler, notFoundHandler } from './http-error.js';
import { definitionJsonSchema } from './openapi-schemas.js';
import { openApiDocument } from './openapi.js';
import { jsonBody } from './request-body.js';
import { runRoutes } from './run-routes.js';

export type { GatewayDeps } from './gateway-deps.js';

export function createGateway(deps: GatewayDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const audit = new AuditLog(deps.store, actor, deps.logger);
  // Before the body parser, so a request refused for its body is logged too.
  app.use(requestId, audit.middleware);
  app.use(...jsonBody(deps.bodyLimit ?? '2mb'));
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

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  app.get('/v1/schema/definition.json', (_req, res) => {
    res.type('application/schema+json').send(JSON.stringify(definitionJsonSchema()));
  });

  docsPage(app);
  definitionRoutes(app, deps);
  runRoutes(app, { ...deps, metrics });
  hookRoutes(app, { ...deps, metrics });
  auditRoutes(app, audit, deps.store);
  if (deps.control) controlRoutes(app, { control: deps.control, actor });

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
