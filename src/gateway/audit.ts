/**
 * The audit log: every mutation made through the gateway is appended to the definition store's
 * `audit` table by one middleware, once the handler has decided the answer and before that answer
 * is sent (so an answered request's entry is durable when the caller reads it), with who (`actor`), what
 * (`action`, `target`), the request id and the outcome (HTTP status, and the error code when
 * refused). Requests are matched by their route-table identity here rather than in each
 * handler, so a handler cannot forget it, and only canonical paths get this far
 * (`canonicalPaths`), so no other spelling of a mutation can go unlogged. `GET /v1/audit` lists the log.
 */
import { randomUUID } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import { paramsOf, routeKey, ruleFor, type RouteRule } from '../auth/route-permissions.js';
import type { AuditEntry, DefinitionStore } from '../store/definition-store.js';
import { parseOrThrow } from '../shared/http-error.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A caller's request id is kept when it is 1-200 visible ASCII characters; otherwise one is generated. */
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** The request id of a request (set by `requestId`). */
export function requestIdOf(res: Response): string {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : '';
}

/** Takes the caller's `X-Request-Id` or generates one, and echoes it in the response. */
export const requestId: RequestHandler = (req, res, next) => {
  const sent = req.get(REQUEST_ID_HEADER);
  const id = sent !== undefined && REQUEST_ID_PATTERN.test(sent) ? sent : randomUUID();
  res.locals.requestId = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  next();
};

const CONTROL_ACTIONS = ['pause', 'resume', 'cancel', 'retry', 'rerun', 'skip'] as const;

interface AuditedRoute {
  action: string;
  /** The definition id, run id or event type acted on. */
  target: (params: Record<string, string>, req: Request) => string;
  /** A route that changes something only sometimes: whether this request did (its parsed body decides). */
  when?: (req: Request) => boolean;
}

const bodyField = (req: Request, key: string): string => {
  const body: unknown = req.body;
  if (!body || typeof body !== 'object') return '';
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : '';
};
/** The `id` of an inline `definition` in the body. */
const definitionIdOf = (req: Request): string => {
  const definition = (req.body as { definition?: unknown } | undefined)?.definition;
  const id = definition && typeof definition === 'object' ? (definition as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : '';
};
const param =
  (name: string) =>
  (params: Record<string, string>): string =>
    params[name] ?? '';

const EVENT_DELIVERY: AuditedRoute = { action: 'event.deliver', target: (_p, req) => bodyField(req, 'event_type') };

/**
 * How each mutating route is named in the log, by its route-table identity (`routeKey`): the
 * same identity routing and permissions use, so no spelling of a path escapes the log.
 */
const AUDITED = new Map<string, AuditedRoute>([
  ['POST /v1/definitions', { action: 'definition.submit', target: (_p, req) => bodyField(req, 'id') }],
  ['PUT /v1/definitions/{id}/active', { action: 'definition.activate', target: param('id') }],
  ['POST /v1/definitions/{id}/runs', { action: 'run.start', target: param('id') }],
  ['POST /v1/hooks/{definition_id}', { action: 'webhook.start', target: param('definition_id') }],
  ...CONTROL_ACTIONS.map(
    (name) => [`POST /v1/runs/{run_id}/${name}`, { action: `run.${name}`, target: param('run_id') }] as const,
  ),
  ['PATCH /v1/runs/{run_id}/variables', { action: 'run.set_variables', target: param('run_id') }],
  ['POST /v1/runs/{run_id}/approvals/{node}', { action: 'run.approve', target: param('run_id') }],
  ['POST /v1/events', EVENT_DELIVERY],
  ['POST /v1/definitions/{id}/versions/{version}/approvals', { action: 'definition.approve', target: param('id') }],
  ['POST /v1/keys', { action: 'key.create', target: (_p, req) => bodyField(req, 'name') }],
  ['DELETE /v1/keys/{key_id}', { action: 'key.revoke', target: param('key_id') }],
  ['PUT /v1/tenants/{tenant}', { action: 'tenant.put', target: param('tenant') }],
  ['POST /v1/templates', { action: 'template.create', target: (_p, req) => bodyField(req, 'id') }],
  ['DELETE /v1/templates/{id}', { action: 'template.delete', target: param('id') }],
  ['POST /v1/templates/{id}/instantiate', { action: 'template.instantiate', target: param('id') }],
  ['POST /v1/connections', { action: 'connection.create', target: (_p, req) => bodyField(req, 'name') }],
  ['PUT /v1/connections/{name}', { action: 'connection.replace', target: param('name') }],
  ['DELETE /v1/connections/{name}', { action: 'connection.delete', target: param('name') }],
  ['POST /v1/connections/{name}/test', { action: 'connection.test', target: param('name') }],
  // A definition test changes nothing, unless `allow_calls` lets task nodes make real calls.
  [
    'POST /v1/definitions/test',
    {
      action: 'definition.test_calls',
      target: (_p, req) => bodyField(req, 'definition_id') || definitionIdOf(req),
      when: (req) => {
        const calls = (req.body as { allow_calls?: unknown } | undefined)?.allow_calls;
        return Array.isArray(calls) && calls.length > 0;
      },
    },
  ],
]);

/**
 * The entry of an event that entered by `door` (`nats:<subject>`) rather than by `POST /v1/events`:
 * the default tenant's, named like that route's entries.
 */
export function eventDeliveryEntry(door: string, event: { event_type: string; event_id?: string }): AuditEntry {
  return {
    at: new Date().toISOString(),
    actor: door,
    tenant: DEFAULT_TENANT,
    action: EVENT_DELIVERY.action,
    target: event.event_type,
    request_id: event.event_id ?? '',
    status: 202,
  };
}

/** Every `action` the audit log writes for a known route (others are logged under their route key). */
export const AUDIT_ACTIONS: readonly string[] = [...AUDITED.values()].map((route) => route.action);

/** Routes that take a body but change nothing: checking a definition, encoding and decoding payloads. */
const READ_ONLY_POSTS = new Set([
  'POST /v1/definitions/validate',
  'POST /v1/definitions/{id}/what-if',
  'POST /v1/expressions/evaluate',
  'POST /codec/encode',
  'POST /codec/decode',
]);

/**
 * The audit name of a request: every route that is not a `GET` and not listed read-only is
 * audited, one missing from `AUDITED` (a route added to the table later) under its route key
 * (`POST /v1/runs/{run_id}/terminate`) with its first path parameter as the target.
 */
function audited(req: Request): { rule: RouteRule; route: AuditedRoute } | undefined {
  const rule = ruleFor(req.method, req.path);
  if (!rule || rule.method === 'GET') return undefined;
  const key = routeKey(rule.method, rule.path);
  if (READ_ONLY_POSTS.has(key)) return undefined;
  const route = AUDITED.get(key) ?? {
    action: key,
    target: (params: Record<string, string>) => Object.values(params)[0] ?? '',
  };
  return { rule, route };
}

/**
 * Appends an entry for every audited request when its handler ends the response, and holds the
 * response back until the store says the entry is written: the SQLite store commits it on its
 * writer thread, batched with the entries of concurrent requests, so waiting costs other
 * requests nothing. An entry that cannot be written is logged and the answer is sent anyway (what
 * the request did is done). `GET /v1/audit` on this gateway waits for the writes in progress.
 */
export class AuditLog {
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly store: Pick<DefinitionStore, 'appendAudit' | 'listAudit'>,
    private readonly logger: Logger,
  ) {}

  readonly middleware: RequestHandler = (req, res, next) => {
    const found = audited(req);
    if (found) {
      // The path now: once routed, a handler may not change it, but the log must name what was asked.
      const params = paramsOf(found.rule, req.path);
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      let ending = false;
      res.end = ((...args: unknown[]): Response => {
        if (ending) return res;
        ending = true;
        if (found.route.when && !found.route.when(req)) return end(...args);
        // Resolved now: the body is parsed by the time the answer is decided (a target may come from it).
        const code: unknown = res.locals.errorCode;
        const entry: AuditEntry = {
          at: new Date().toISOString(),
          // Refused before authentication: no identity, the caller stays anonymous.
          actor: req.identity?.actor ?? 'anonymous',
          tenant: req.identity?.tenant ?? DEFAULT_TENANT,
          action: found.route.action,
          target: found.route.target(params, req),
          request_id: requestIdOf(res),
          status: res.statusCode,
          ...(res.statusCode >= 400 && typeof code === 'string' ? { error_code: code } : {}),
        };
        void this.record(entry)
          .catch((err: unknown) => this.logger.error({ err, audit: entry }, 'could not append to the audit log'))
          .finally(() => end(...args));
        return res;
      }) as Response['end'];
    }
    next();
  };

  /**
   * Appends one entry, counted among the writes `flushed` waits for; rejects when the store could
   * not write it. The middleware's path, and the one of work that enters by another door than a
   * route (events consumed from NATS, `eventDeliveryEntry`).
   */
  record(entry: AuditEntry): Promise<void> {
    const written = this.store.appendAudit(entry);
    // `flushed` waits for the write, not for its success: the caller of `record` hears of a failure.
    const settled = written.then(
      () => undefined,
      () => undefined,
    );
    this.writing.add(settled);
    void settled.then(() => this.writing.delete(settled));
    return written;
  }

  /** Resolves once every entry of a request answered (or being answered) so far is written. */
  async flushed(): Promise<void> {
    await Promise.all([...this.writing]);
  }
}

const LIMIT_MESSAGE = 'expected a whole number from 1 to 1000';

/** The query string of `GET /v1/audit`. */
export const AuditQuery = z.strictObject({
  actor: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(200).optional(),
  target: z.string().min(1).max(200).optional(),
  since: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as 2026-01-31T12:00:00Z' }).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, LIMIT_MESSAGE)
    .transform(Number)
    .pipe(z.number().min(1, LIMIT_MESSAGE).max(1000, LIMIT_MESSAGE))
    .optional(),
});

export function auditRoutes(app: Express, audit: AuditLog, store: Pick<DefinitionStore, 'listAudit'>): void {
  app.get('/v1/audit', async (req, res) => {
    const query = parseOrThrow(AuditQuery, req.query, '/query');
    await audit.flushed();
    const items = await store.listAudit({
      // A tenant sees its own entries only.
      tenant: req.identity?.tenant ?? DEFAULT_TENANT,
      ...(query.actor === undefined ? {} : { actor: query.actor }),
      ...(query.action === undefined ? {} : { action: query.action }),
      ...(query.target === undefined ? {} : { target: query.target }),
      ...(query.since === undefined ? {} : { since: new Date(query.since).toISOString() }),
      limit: query.limit ?? 100,
    });
    res.json({ items });
  });
}
