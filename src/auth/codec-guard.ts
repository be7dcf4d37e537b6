/**
 * Who may encode and decode through the codec endpoint (authentication already required the
 * "run" permission): callers of the default tenant for every namespace the gateway serves; a
 * tenant's callers only for a namespace of the tenant's own, since decoding a shared namespace's
 * payloads would show them other tenants' data.
 */
import type { RequestHandler } from 'express';
import type { AccessStore, TenantRecord } from '../store/access-store.js';
import { HttpError } from '../shared/http-error.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import type { Identity } from './identity.js';

/**
 * Throws the answer for a caller of `identity.tenant` asking for namespace `wanted` of a gateway
 * whose own namespace is `namespace`: 404 for a namespace nobody here serves, 403 for one that is
 * not the tenant's own; returns when the caller may use the codec for it.
 */
export function checkCodecNamespace(
  tenants: readonly Pick<TenantRecord, 'id' | 'namespace'>[],
  namespace: string,
  identity: Pick<Identity, 'tenant'>,
  wanted: string,
): void {
  const served = new Set([namespace, ...tenants.flatMap((t) => (t.namespace ? [t.namespace] : []))]);
  if (!served.has(wanted)) throw new HttpError('not_found', `namespace "${wanted}" is not served by this gateway`);
  if (identity.tenant === DEFAULT_TENANT) return;
  const own = tenants.find((t) => t.id === identity.tenant)?.namespace;
  if (own !== wanted || own === namespace) {
    throw new HttpError(
      'forbidden',
      `tenant "${identity.tenant}" may decode only payloads of a namespace of its own, not "${wanted}"`,
    );
  }
}

/**
 * The codec routes' guard: a request naming a namespace in `X-Namespace` is checked against the
 * tenants as the store has them now (`checkCodecNamespace`); one naming none uses the gateway's own.
 */
export function codecGuard(access: Pick<AccessStore, 'listTenants'>, namespace: string): RequestHandler {
  return (req, _res, next) => {
    const wanted = req.get('x-namespace');
    const identity = req.identity;
    if (wanted === undefined || !identity) return next();
    access
      .listTenants()
      .then((tenants) => checkCodecNamespace(tenants, namespace, identity, wanted))
      .then(() => next(), next);
  };
}
