/**
 * The gateway: express app with the v1 routes. Built from injected dependencies so tests run it
 * in-process against a real Temporal server and a real store.
 */
import express from 'express';
import { createGatewayMetrics } from '../metrics/gateway-metrics.js';
import { AuditLog, auditRoutes, requestId } from './audit.js';
import { connectionRoutes } from './connection-routes.js';
import { codecCors, codecRoutes } from './codec-routes.js';
import { controlRoutes } from './control-routes.js';
import { definitionTestRoutes } from './definition-test-routes.js';
import { whatIfRoutes } from './what-if.js';
import { definitionRoutes } from './definition-routes.js';
import { docsPage } from './docs-page.js';
import { expressionRoutes } from './expression-routes.js';
import { type GatewayDeps } from './gateway-deps.js';
import { accessRoutes } from './access-routes.js';
import { publishingRoutes } from './publishing-routes.js';
import { hookRoutes, type WebhookOptions } from './hook-routes.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { HttpError } from '../shared/http-error.js';
import { canonicalPaths, routeGuard } from '../auth/authenticate.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import { ruleOf, templateOf } from '../auth/route-permissions.js';
import { lineageRoutes } from './lineage-routes.js';
import { definitionJsonSchema, templateJsonSchema } from './openapi-schemas.js';
import { openApiDocument } from './openapi.js';
import { rateLimit } from './rate-limit.js';
import { jsonBody } from './request-body.js';
import { runRoutes } from './run-routes.js';
import { studioRoutes } from './studio-routes.js';
import { templateRoutes } from './template-routes.js';
import { MemoryReplayGuard } from './webhook-signature.js';

export type { GatewayDeps } from './gateway-deps.js';

const ROUTING_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);
type Register = (path: string, ...handlers: express.RequestHandler[]) => unknown;

/**
 * The app as route modules see it: registering a route (`get`, `post`, `put`, `patch`,
 * `delete`) looks up its rule in the route table by method and template and puts that rule's
 * permission check (`routeGuard`) in front of its handlers, so the permission enforced is the
 * one of the route express matched. A route without a rule fails the gateway's start.
 */
export function guarded(app: express.Express): express.Express {
  return new Proxy(app, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (typeof property !== 'string' || !ROUTING_METHODS.has(property)) return value.bind(target) as unknown;
      const register = value.bind(target) as Register;
      return (path: unknown, ...handlers: express.RequestHandler[]) => {
        if (handlers.length === 0) return register(path as string); // `app.get(setting)`
        if (typeof path !== 'string') throw new Error(`a route is registered by one path string, not ${String(path)}`);
        const method = property.toUpperCase();
        const rule = ruleOf(method, templateOf(path));
        if (!rule) throw new Error(`${method} ${path} has no entry in ROUTE_RULES (src/auth/route-permissions.ts)`);
        register(path, routeGuard(rule), ...handlers);
        return receiver as unknown;
      };
    },
  });
}

export function createGateway(deps: GatewayDeps & { webhooks?: WebhookOptions }): express.Express {
  const root = express();
  // Routing matches paths exactly as the route table and the audit log do; `canonicalPaths`
  // refuses every other spelling before anything else sees the request.
  root.set('case sensitive routing', true);
  root.set('strict routing', true);
  root.disable('x-powered-by');
  const app = guarded(root);
  const audit = deps.audit ?? new AuditLog(deps.store, deps.logger);
  // Before the body parser, so a request refused for its body (or its credentials) is logged too;
  // authentication before parsing, so no body is parsed for a caller who may not send it.
  app.use(requestId, canonicalPaths);
  if (deps.codec) app.use('/codec', codecCors(deps.codec.allowedOrigins));
  app.use(audit.middleware, deps.auth.middleware);
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

  app.get('/v1/schema/template.json', (_req, res) => {
    res.type('application/schema+json').send(JSON.stringify(templateJsonSchema()));
  });

  docsPage(app);
  studioRoutes(app);
  definitionTestRoutes(app, deps);
  whatIfRoutes(app, deps);
  definitionRoutes(app, deps);
  publishingRoutes(app, deps);
  templateRoutes(app, deps);
  connectionRoutes(app, deps);
  expressionRoutes(app);
  runRoutes(app, { ...deps, metrics });
  lineageRoutes(app, deps);
  hookRoutes(app, { ...deps, metrics, webhooks: { replay: new MemoryReplayGuard(), ...deps.webhooks } });
  auditRoutes(app, audit, deps.store);
  controlRoutes(app, deps);
  accessRoutes(app, deps);
  if (deps.codec) codecRoutes(app, deps.codec);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return root;
}
