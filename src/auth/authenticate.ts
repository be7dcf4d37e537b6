/**
 * Authentication and authorisation of gateway requests. Every request is matched against the
 * route table (`route-permissions.ts`); the caller is identified by an API key
 * (`Authorization: Bearer wk_…` or `X-API-Key`) or, when a JWKS URL is configured, a JWT; the
 * identity's roles must grant what the route needs.
 *
 * Until the first API key is created (and with no JWKS and `WEFT_AUTH` not `required`) the
 * gateway runs in local-development mode: every caller is `local-dev`, admin of the default
 * tenant. That mode is announced loudly at startup and on every response
 * (`X-Weft-Auth: local-development`). Creating a key ends it for good, on every gateway sharing
 * the store: revoking all keys does not reopen the gateway.
 */
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import type { AccessStore } from '../store/access-store.js';
import { HttpError } from '../shared/http-error.js';
import { parseApiKey, secretMatches } from './api-keys.js';
import type { Identity } from './identity.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import { ROLES, isRole, permits, type Permission } from './roles.js';
import { nonCanonical, ruleFor, type RouteRule } from './route-permissions.js';

export interface JwtVerify {
  (token: string): Promise<{ actor: string; tenant: string; roles: string[] }>;
}

export interface AuthOptions {
  access: Pick<AccessStore, 'getApiKey' | 'anyApiKeys'>;
  /** Verifies a bearer token that is not an API key (WEFT_JWKS_URL). */
  jwt?: JwtVerify;
  /** `WEFT_AUTH=required`: never run in local-development mode, even before the first key. */
  required?: boolean;
  logger: Logger;
}

export const LOCAL_DEV_IDENTITY: Identity = {
  actor: 'local-dev',
  tenant: DEFAULT_TENANT,
  roles: [...ROLES],
  via: 'local_dev',
};

const HOLDERS: Record<Permission, string> = {
  read: 'viewer, operator, editor, approver or admin',
  run: 'operator, editor or admin',
  edit: 'editor or admin',
  approve: 'approver or admin',
  admin: 'admin',
};

function credentials(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <API key or token>"');
    return match[1];
  }
  return req.get('x-api-key') || undefined;
}

function forbidden(req: Request, identity: Identity, path: string, needed: Permission): HttpError {
  const held = identity.roles.length > 0 ? identity.roles.join(', ') : 'no role';
  return new HttpError(
    'forbidden',
    `${req.method} ${path} needs the "${needed}" permission (${HOLDERS[needed]}); ${identity.actor} has ${held}`,
  );
}

function unauthorized(message: string): HttpError {
  return new HttpError('unauthorized', message, [
    { path: '/headers/authorization', message: 'expected "Bearer <API key>" (or X-API-Key) or a valid JWT' },
  ]);
}

export class GatewayAuth {
  private enforced: boolean;

  constructor(private readonly options: AuthOptions) {
    this.enforced = options.required === true || options.jwt !== undefined;
  }

  /** Whether credentials are required now (false: local-development mode). */
  async isEnforced(): Promise<boolean> {
    if (!this.enforced && (await this.options.access.anyApiKeys())) {
      this.enforced = true;
      this.options.logger.info('API keys exist: authentication is now required on every request');
    }
    return this.enforced;
  }

  /** Logs the mode at startup; local-development mode as a warning no one can miss. */
  async announce(): Promise<void> {
    if (await this.isEnforced()) {
      this.options.logger.info('authentication required: API keys%s', this.options.jwt ? ' and JWTs (JWKS)' : '');
      return;
    }
    this.options.logger.warn(
      '*** AUTHENTICATION IS OFF: local-development mode. Every caller is an admin of the default tenant. ' +
        'Create an API key (POST /v1/keys or `weft keys create`) or set WEFT_AUTH=required before exposing this gateway. ***',
    );
  }

  private async identify(token: string): Promise<Identity> {
    const parsed = parseApiKey(token);
    if (parsed) {
      const record = await this.options.access.getApiKey(parsed.id);
      if (!record || !secretMatches(parsed.secret, record.hash)) throw unauthorized('the API key is not valid');
      if (record.revoked_at !== undefined) throw unauthorized(`the API key "${record.name}" was revoked`);
      return {
        actor: `key:${record.name}`,
        tenant: record.tenant,
        roles: record.roles,
        via: 'api_key',
        key_id: record.id,
      };
    }
    if (token.startsWith('wk_')) throw unauthorized('the API key is malformed');
    if (!this.options.jwt)
      throw unauthorized('the credentials are not an API key, and no JWKS is configured for tokens');
    const claims = await this.options.jwt(token);
    return { actor: claims.actor, tenant: claims.tenant, roles: claims.roles.filter(isRole), via: 'jwt' };
  }

  /** The express middleware: sets `req.identity` or answers 401/403. */
  readonly middleware: RequestHandler = (req, res, next) => {
    if (req.method === 'OPTIONS') return next(); // CORS preflights carry no credentials
    const rule = ruleFor(req.method, req.path);
    if (rule?.access === 'public') return next();
    this.isEnforced()
      .then(async (enforced) => {
        if (!enforced) {
          res.setHeader('X-Weft-Auth', 'local-development');
          req.identity = LOCAL_DEV_IDENTITY;
          return;
        }
        const token = credentials(req);
        if (token === undefined) {
          // A webhook may prove itself with its signature instead; the route checks it.
          if (rule?.access === 'signed') return;
          throw unauthorized('authentication required: send an API key or token');
        }
        req.identity = await this.identify(token);
        // Unknown paths need a valid caller before they get their 404: no probing without credentials.
        const needed: Permission | undefined =
          rule === undefined || rule.access === 'public' ? undefined : rule.access === 'signed' ? 'run' : rule.access;
        if (needed !== undefined && !permits(req.identity.roles, needed)) {
          throw forbidden(req, req.identity, rule?.path ?? req.path, needed);
        }
      })
      .then(() => next(), next);
  };
}

/** At most this much of a refused path is echoed back. */
const ECHOED_PATH = 200;

/**
 * Refuses, before authentication or anything else looks at it, a request whose path is not the
 * one canonical spelling of a path (`nonCanonical`): `POST /V1/KEYS`, `/v1/keys/`, `/v1//keys`,
 * `/v1/%6Beys`, `/v1/./keys` all answer 404 `not_found`, for every caller, and are never routed.
 * The express app routes case-sensitively and strictly, so what passes here is routed exactly as
 * the route table (`ruleFor`) and the audit log match it.
 */
export const canonicalPaths: RequestHandler = (req, _res, next) => {
  const problem = nonCanonical(req.path);
  if (problem === undefined) return next();
  const shown = req.path.length > ECHOED_PATH ? `${req.path.slice(0, ECHOED_PATH)}…` : req.path;
  next(
    new HttpError(
      'not_found',
      `no route ${req.method} ${shown}: ${problem}. Paths are case-sensitive and have one spelling: no percent-encoding, no "//", no trailing "/", no dot segments`,
    ),
  );
};

/**
 * The permission check of one route, attached to it when it is registered (`createGateway`), so
 * the permission enforced is the one of the route express actually matched, whatever the
 * request's path looked like. Authentication (`GatewayAuth.middleware`) has run by then.
 */
export function routeGuard(rule: RouteRule): RequestHandler {
  const needed: Permission | undefined =
    rule.access === 'public' ? undefined : rule.access === 'signed' ? 'run' : rule.access;
  return (req, _res, next) => {
    if (needed === undefined) return next();
    const identity = req.identity;
    if (!identity) {
      // A webhook without credentials proves itself with its signature; the route checks it.
      if (rule.access === 'signed') return next();
      return next(unauthorized('authentication required: send an API key or token'));
    }
    if (!permits(identity.roles, needed)) return next(forbidden(req, identity, rule.path, needed));
    next();
  };
}
