/**
 * The audit log: every mutation made through the gateway is appended to the definition store's
 * `audit` table by one middleware, once the response is sent, with who (`actor`), what
 * (`action`, `target`), the request id and the outcome (HTTP status, and the error code when
 * refused). Requests are matched by method and path here rather than in each handler, so a
 * handler cannot forget it. `GET /v1/audit` lists the log.
 */
import { randomUUID } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { DEFAULT_TENANT } from '../auth/identity.js';
import type { AuditEntry, DefinitionStore } from '../store/definition-store.js';
import { parseOrThrow } from './http-error.js';

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

const segment = '([^/]+)';
const CONTROL_ACTIONS = ['pause', 'resume', 'cancel', 'retry', 'skip'] as const;

interface AuditedRoute {
  method: string;
  path: RegExp;
  action: string;
  /** The definition id, run id or event type acted on. */
  target: (match: RegExpExecArray, req: Request) => string;
}

const bodyField = (req: Request, key: string): string => {
  const body: unknown = req.body;
  if (!body || typeof body !== 'object') return '';
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : '';
};
const captured = (match: RegExpExecArray): string => {
  try {
    return decodeURIComponent(match[1] ?? '');
  } catch {
    return match[1] ?? '';
  }
};

/** The mutating routes and how each is named in the log. */
const AUDITED: readonly AuditedRoute[] = [
  {
    method: 'POST',
    path: /^\/v1\/definitions\/?$/,
    action: 'definition.submit',
    target: (_m, req) => bodyField(req, 'id'),
  },
  {
    method: 'PUT',
    path: new RegExp(`^/v1/definitions/${segment}/active/?$`),
    action: 'definition.activate',
    target: captured,
  },
  { method: 'POST', path: new RegExp(`^/v1/definitions/${segment}/runs/?$`), action: 'run.start', target: captured },
  { method: 'POST', path: new RegExp(`^/v1/hooks/${segment}/?$`), action: 'webhook.start', target: captured },
  ...CONTROL_ACTIONS.map((name) => ({
    method: 'POST',
    path: new RegExp(`^/v1/runs/${segment}/${name}/?$`),
    action: `run.${name}`,
    target: captured,
  })),
  {
    method: 'PATCH',
    path: new RegExp(`^/v1/runs/${segment}/variables/?$`),
    action: 'run.set_variables',
    target: captured,
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/runs/${segment}/approvals/${segment}/?$`),
    action: 'run.approve',
    target: captured,
  },
  {
    method: 'POST',
    path: /^\/v1\/events\/?$/,
    action: 'event.deliver',
    target: (_m, req) => bodyField(req, 'event_type'),
  },
  {
    method: 'POST',
    path: new RegExp(`^/v1/definitions/${segment}/versions/${segment}/approvals/?$`),
    action: 'definition.approve',
    target: captured,
  },
  { method: 'POST', path: /^\/v1\/keys\/?$/, action: 'key.create', target: (_m, req) => bodyField(req, 'name') },
  { method: 'DELETE', path: new RegExp(`^/v1/keys/${segment}/?$`), action: 'key.revoke', target: captured },
  { method: 'PUT', path: new RegExp(`^/v1/tenants/${segment}/?$`), action: 'tenant.put', target: captured },
];

function audited(req: Request): { action: string; target: string } | undefined {
  for (const route of AUDITED) {
    if (route.method !== req.method) continue;
    const match = route.path.exec(req.path);
    if (match) return { action: route.action, target: route.target(match, req) };
  }
  return undefined;
}

/**
 * Appends an entry for every audited request once its response is sent. Writes are chained,
 * so `GET /v1/audit` on this gateway (which waits for them) sees every request answered before it.
 */
export class AuditLog {
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<DefinitionStore, 'appendAudit' | 'listAudit'>,
    private readonly logger: Logger,
  ) {}

  readonly middleware: RequestHandler = (req, res, next) => {
    if (audited(req)) {
      res.on('finish', () => {
        // Resolved now: the body is parsed by the time the response is sent (a target may come from it).
        const what = audited(req) ?? { action: '', target: '' };
        const code: unknown = res.locals.errorCode;
        const entry: AuditEntry = {
          at: new Date().toISOString(),
          // Refused before authentication: no identity, the caller stays anonymous.
          actor: req.identity?.actor ?? 'anonymous',
          tenant: req.identity?.tenant ?? DEFAULT_TENANT,
          action: what.action,
          target: what.target,
          request_id: requestIdOf(res),
          status: res.statusCode,
          ...(res.statusCode >= 400 && typeof code === 'string' ? { error_code: code } : {}),
        };
        this.pending = this.pending
          .then(() => this.store.appendAudit(entry))
          .catch((err: unknown) => this.logger.error({ err, audit: entry }, 'could not append to the audit log'));
      });
    }
    next();
  };

  /** Resolves once every entry of a request answered so far is written. */
  flushed(): Promise<void> {
    return this.pending;
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
