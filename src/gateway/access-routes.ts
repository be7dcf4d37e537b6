/**
 * Who may do what: API keys (`/v1/keys`), tenants and their settings (`/v1/tenants`), and
 * `GET /v1/whoami`. Admins manage their own tenant; admins of the default tenant manage every
 * tenant (creating tenants, mapping them to a namespace or task queue, keys for any tenant).
 */
import type { Express, Request } from 'express';
import { z } from 'zod';
import { issueApiKey, KeyNameTaken } from '../auth/api-keys.js';
import { identityOf } from '../auth/identity.js';
import { DEFAULT_TENANT, TENANT_ID_PATTERN } from '../shared/tenants.js';
import { ROLES, permissionsOf } from '../auth/roles.js';
import { QuotaOverrides, effectiveQuotas } from '../../interpreter/quotas.js';
import type { ApiKeyRecord, TenantRecord } from '../store/access-store.js';
import { actor, param, type GatewayDeps } from './gateway-deps.js';
import { HttpError, notFound, parseOrThrow } from '../shared/http-error.js';

const TENANT_MESSAGE = 'expected a tenant id: lower-case letters, digits and "-", at most 63 characters';
const TenantId = z.string().regex(TENANT_ID_PATTERN, TENANT_MESSAGE);

/** The body of `POST /v1/keys`. */
export const CreateKeyBody = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected a name: letters, digits, ".", "_", "@", "-"'),
  roles: z.array(z.enum(ROLES)).min(1, 'expected at least one role').max(ROLES.length),
  tenant: TenantId.optional(),
});

/** The body of `PUT /v1/tenants/{tenant}`. */
export const PutTenantBody = z.strictObject({
  namespace: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'expected a Temporal namespace name')
    .optional(),
  task_queue: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$/, 'expected a task queue name')
    .optional(),
  four_eyes: z.boolean().optional(),
  /**
   * The tenant's own quotas over the gateway's `WEFT_QUOTA_*` defaults (admins of the default
   * tenant only): replaces the tenant's earlier values; `{}` goes back to the defaults.
   */
  quotas: QuotaOverrides.optional(),
});

/** A key as listings show it: never its hash. */
function publicKey(record: ApiKeyRecord) {
  const { hash: _hash, ...rest } = record;
  return rest;
}

/** Admins of the default tenant administer all tenants; other admins their own. */
function administers(req: Request, tenant: string): boolean {
  const { tenant: own } = identityOf(req);
  return own === DEFAULT_TENANT || own === tenant;
}

function refuseOtherTenant(req: Request, tenant: string): void {
  if (!administers(req, tenant)) {
    throw new HttpError('forbidden', `only admins of tenant "${tenant}" or of the default tenant may do this`);
  }
}

async function tenantExists(deps: GatewayDeps, tenant: string): Promise<boolean> {
  return tenant === DEFAULT_TENANT || (await deps.store.access.getTenant(tenant)) !== undefined;
}

export function accessRoutes(app: Express, deps: GatewayDeps): void {
  const access = deps.store.access;

  app.get('/v1/whoami', async (req, res) => {
    const identity = identityOf(req);
    res.json({
      actor: identity.actor,
      tenant: identity.tenant,
      roles: identity.roles,
      permissions: permissionsOf(identity.roles),
      via: identity.via,
      authentication: (await deps.auth.isEnforced()) ? 'required' : 'local-development',
    });
  });

  app.post('/v1/keys', async (req, res) => {
    const body = parseOrThrow(CreateKeyBody, req.body);
    const tenant = body.tenant ?? identityOf(req).tenant;
    refuseOtherTenant(req, tenant);
    if (!(await tenantExists(deps, tenant))) {
      throw new HttpError('not_found', `tenant "${tenant}" not found: create it first with PUT /v1/tenants/${tenant}`);
    }
    let issued: Awaited<ReturnType<typeof issueApiKey>>;
    try {
      issued = await issueApiKey(access, { name: body.name, roles: body.roles, tenant }, actor(req));
    } catch (err) {
      if (err instanceof KeyNameTaken) throw new HttpError('conflict', err.message);
      throw err;
    }
    const { record } = issued;
    // The only time the key is shown: only its hash is kept.
    res.status(201).json({ ...publicKey(record), key: issued.key });
  });

  app.get('/v1/keys', async (req, res) => {
    const own = identityOf(req).tenant;
    const items = await access.listApiKeys(own === DEFAULT_TENANT ? undefined : own);
    res.json({ items: items.map(publicKey) });
  });

  app.delete('/v1/keys/:key_id', async (req, res) => {
    const id = param(req, 'key_id');
    const record = await access.getApiKey(id);
    if (!record || !administers(req, record.tenant)) throw notFound(`API key "${id}"`);
    if (record.revoked_at !== undefined) throw new HttpError('conflict', `API key "${id}" is already revoked`);
    await access.revokeApiKey(id, new Date().toISOString());
    res.json({ id, revoked: true });
  });

  app.get('/v1/tenants', async (req, res) => {
    const own = identityOf(req).tenant;
    const items = await access.listTenants();
    res.json({ items: own === DEFAULT_TENANT ? items : items.filter((t) => t.id === own) });
  });

  app.get('/v1/tenants/:tenant', async (req, res) => {
    const id = param(req, 'tenant');
    const record = administers(req, id) ? await access.getTenant(id) : undefined;
    if (!record) {
      if (id === DEFAULT_TENANT)
        return void res.json({ id, four_eyes: false, effective_quotas: deps.scopes.defaultQuotas });
      throw notFound(`tenant "${id}"`);
    }
    res.json({ ...record, effective_quotas: effectiveQuotas(deps.scopes.defaultQuotas, record.quotas) });
  });

  app.put('/v1/tenants/:tenant', async (req, res) => {
    const id = parseOrThrow(TenantId, param(req, 'tenant'), '/path/tenant');
    const body = parseOrThrow(PutTenantBody, req.body ?? {});
    const own = identityOf(req).tenant;
    const existing = await access.getTenant(id);
    const placement = body.namespace !== undefined || body.task_queue !== undefined;
    if (own !== DEFAULT_TENANT && (own !== id || placement)) {
      throw new HttpError(
        'forbidden',
        'only admins of the default tenant create tenants or map them to a namespace or task queue',
      );
    }
    // A tenant's admins must not raise the bounds that protect the other tenants.
    if (own !== DEFAULT_TENANT && body.quotas !== undefined) {
      throw new HttpError('forbidden', "only admins of the default tenant set a tenant's quotas");
    }
    const quotas = body.quotas ?? existing?.quotas;
    const record: TenantRecord = {
      id,
      ...((body.namespace ?? existing?.namespace) ? { namespace: body.namespace ?? existing?.namespace } : {}),
      ...((body.task_queue ?? existing?.task_queue) ? { task_queue: body.task_queue ?? existing?.task_queue } : {}),
      four_eyes: body.four_eyes ?? existing?.four_eyes ?? false,
      ...(quotas && Object.keys(quotas).length > 0 ? { quotas } : {}),
      created_at: existing?.created_at ?? new Date().toISOString(),
      created_by: existing?.created_by ?? actor(req),
    };
    await access.putTenant(record);
    res
      .status(existing ? 200 : 201)
      .json({ ...record, effective_quotas: effectiveQuotas(deps.scopes.defaultQuotas, record.quotas) });
  });
}
