/**
 * Named connections of the caller's tenant (`/v1/connections`): create, list, read, replace
 * (rotate), delete and test. The non-secret `settings` are stored and shown as given; the
 * `secret_settings` are sealed with `WEFT_CONNECTION_KEY` before they reach the store and never
 * leave the gateway again: every answer shows each of their values as `"***"`.
 */
import type { Express, Request } from 'express';
import { z } from 'zod';
import {
  CONNECTION_NAME_PATTERN,
  CONNECTION_TYPES,
  ConnectionName,
  UNSUPPORTED_CONNECTION_TYPES,
} from '../../activities/connections.js';
import { probeConnection } from '../../activities/connection-probe.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import type { Problem } from '../../interpreter/problems.js';
import { toPointer } from '../../interpreter/problems.js';
import { identityOf } from '../auth/identity.js';
import { seal } from '../connections/connection-crypto.js';
import { openSecrets } from '../connections/connection-source.js';
import type { StoredConnection } from '../store/connection-store.js';
import { HttpError, notFound, parseOrThrow, validationFailed } from '../shared/http-error.js';
import { actor, param, type GatewayDeps } from './gateway-deps.js';

const Fields = z.record(z.string(), z.unknown());

export const CreateConnectionBody = z.strictObject({
  name: ConnectionName,
  connector: z.string().min(1),
  settings: Fields,
  secret_settings: Fields.default({}),
});

export const ReplaceConnectionBody = z.strictObject({
  /** When given, the path's name. */
  name: ConnectionName.optional(),
  /** When given, the stored connector (a connection never changes its connector). */
  connector: z.string().min(1).optional(),
  /** Replaces the settings as a whole; absent: kept. */
  settings: Fields.optional(),
  /** Replaces the secret settings as a whole; absent: kept. */
  secret_settings: Fields.optional(),
});

/** The test takes nothing: an empty object (or no body); anything in it is refused, not ignored. */
export const TestConnectionBody = z.strictObject({});

/** Every string inside secret settings as `"***"`: the shape (which fields, which header names) shows, no value does. */
function masked(value: unknown): unknown {
  if (typeof value === 'string') return '***';
  if (Array.isArray(value)) return value.map(masked);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]));
  }
  return '***';
}

/** A connection as every answer shows it: never a secret value. */
function view(row: StoredConnection, secretShape: Record<string, unknown>) {
  return {
    name: row.name,
    connector: row.connector,
    settings: row.settings,
    secret_settings: masked(secretShape),
    version: row.version,
    created_at: row.created_at,
    created_by: row.created_by,
    updated_at: row.updated_at,
    updated_by: row.updated_by,
  };
}

/** The shape of the stored secret settings, from the names the store keeps (their values are not read). */
function shapeOf(row: StoredConnection): Record<string, unknown> {
  const shape: Record<string, unknown> = {};
  for (const path of row.secret_fields) {
    const [head, ...rest] = path.split('.');
    if (head === undefined) continue;
    if (rest.length === 0) shape[head] = '';
    else shape[head] = { ...(shape[head] ?? {}), [rest.join('.')]: '' };
  }
  return shape;
}

/** The names of the secret settings that are set (`password`, `headers.authorization`). */
function fieldsOf(secrets: Record<string, unknown>): string[] {
  return Object.entries(secrets).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.keys(v).map((h) => `${k}.${h}`)
      : v === undefined
        ? []
        : [k],
  );
}

/** The connector's fields, checked: problems point into the body (`/settings/host`). */
function checkFields(
  connector: string,
  settings: unknown,
  secrets: unknown,
  connectorPath = '/connector',
): { settings: Record<string, unknown>; secrets: Record<string, unknown> } {
  const type = CONNECTION_TYPES[connector];
  if (!type) {
    const reason = UNSUPPORTED_CONNECTION_TYPES[connector];
    throw validationFailed([
      {
        path: connectorPath,
        message:
          reason ??
          `expected a connector that takes a named connection: ${Object.keys(CONNECTION_TYPES).join(', ')}; got "${connector}"`,
      },
    ]);
  }
  const problems: Problem[] = [];
  const parsedSettings = type.settings.safeParse(settings);
  const parsedSecrets = type.secrets.safeParse(secrets);
  for (const [parsed, prefix] of [
    [parsedSettings, '/settings'],
    [parsedSecrets, '/secret_settings'],
  ] as const) {
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const hint =
          issue.code === 'unrecognized_keys' && prefix === '/settings'
            ? ' (secrets such as a password or an authorization header go in secret_settings)'
            : '';
        problems.push({ path: toPointer(issue.path, prefix), message: `${issue.message}${hint}` });
      }
    }
  }
  if (!parsedSettings.success || !parsedSecrets.success) throw validationFailed(problems, 'the connection is invalid');
  return { settings: parsedSettings.data, secrets: parsedSecrets.data };
}

export function connectionRoutes(app: Express, deps: GatewayDeps): void {
  const tenantOf = (req: Request) => identityOf(req).tenant;
  const store = deps.store.connections;

  /** The key, or the refusal every route that seals or opens secrets answers without one. */
  function keyOrRefuse(): Buffer {
    if (deps.connectionKey) return deps.connectionKey;
    throw new HttpError(
      'rejected',
      'named connections are off: set WEFT_CONNECTION_KEY (the base64 of 32 random bytes, `openssl rand -base64 32`) to the same value on the gateway and every worker',
    );
  }

  async function find(req: Request): Promise<StoredConnection> {
    const name = param(req, 'name');
    const row = CONNECTION_NAME_PATTERN.test(name) ? await store.get(tenantOf(req), name) : undefined;
    if (!row) throw notFound(`connection "${name}"`);
    return row;
  }

  app.get('/v1/connections', async (req, res) => {
    const rows = await store.list(tenantOf(req));
    res.json({ items: rows.map((row) => view(row, shapeOf(row))) });
  });

  app.get('/v1/connections/:name', async (req, res) => {
    const row = await find(req);
    res.json(view(row, shapeOf(row)));
  });

  app.post('/v1/connections', async (req, res) => {
    const body = parseOrThrow(CreateConnectionBody, req.body);
    const { settings, secrets } = checkFields(body.connector, body.settings, body.secret_settings);
    const key = keyOrRefuse();
    const tenant = tenantOf(req);
    const sealed = seal(key, { tenant, name: body.name, connector: body.connector, version: 1 }, secrets);
    const created = await store.create(
      tenant,
      {
        name: body.name,
        connector: body.connector,
        settings,
        sealed_secrets: sealed,
        secret_fields: fieldsOf(secrets),
      },
      actor(req),
    );
    if (!created) {
      throw new HttpError(
        'conflict',
        `connection "${body.name}" exists; replace it with PUT /v1/connections/${body.name}, or delete it first`,
      );
    }
    const row = await store.get(tenant, body.name);
    if (!row) throw notFound(`connection "${body.name}"`);
    res.status(201).json(view(row, shapeOf(row)));
  });

  app.put('/v1/connections/:name', async (req, res) => {
    const body = parseOrThrow(ReplaceConnectionBody, req.body);
    const row = await find(req);
    if (body.name !== undefined && body.name !== row.name) {
      throw validationFailed([
        { path: '/name', message: `expected "${row.name}", the name in the path (or leave it out)` },
      ]);
    }
    if (body.connector !== undefined && body.connector !== row.connector) {
      throw validationFailed([
        {
          path: '/connector',
          message: `expected "${row.connector}": a connection keeps its connector (create another connection for "${body.connector}")`,
        },
      ]);
    }
    const key = keyOrRefuse();
    const tenant = tenantOf(req);
    const previousSecrets = body.secret_settings === undefined ? openSecrets(key, tenant, row) : undefined;
    const { settings, secrets } = checkFields(
      row.connector,
      body.settings ?? row.settings,
      body.secret_settings ?? previousSecrets,
    );
    const version = row.version + 1;
    const sealed = seal(key, { tenant, name: row.name, connector: row.connector, version }, secrets);
    const replaced = await store.replace(
      tenant,
      row.name,
      row.version,
      { settings, sealed_secrets: sealed, secret_fields: fieldsOf(secrets) },
      actor(req),
    );
    if (!replaced) throw new HttpError('conflict', `connection "${row.name}" changed meanwhile; read it and try again`);
    const next = await store.get(tenant, row.name);
    if (!next) throw notFound(`connection "${row.name}"`);
    res.json(view(next, shapeOf(next)));
  });

  app.delete('/v1/connections/:name', async (req, res) => {
    const row = await find(req);
    await store.delete(tenantOf(req), row.name);
    res.status(204).end();
  });

  app.post('/v1/connections/:name/test', async (req, res) => {
    parseOrThrow(TestConnectionBody, req.body ?? {});
    const row = await find(req);
    const key = keyOrRefuse();
    const tenant = tenantOf(req);
    // The gateway's own registry: the egress policy of the gateway's environment applies.
    const registry = new ConnectorRegistry();
    try {
      const result = await probeConnection(registry, tenant, {
        name: row.name,
        connector: row.connector,
        version: row.version,
        settings: row.settings,
        secret_settings: openSecrets(key, tenant, row),
      });
      res.json({ name: row.name, connector: row.connector, version: row.version, ...result });
    } finally {
      await registry.close();
    }
  });
}
