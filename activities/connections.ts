/**
 * Named connections (n8n calls them credentials): per tenant, a connector's settings under a
 * name a task references (`"connection": "crm-db"`). This file holds what the gateway and the
 * activities share about them: which connectors take one, the fields of each (`settings`, shown
 * to readers, and `secret_settings`, never shown), and how a connection becomes the settings
 * its connector reads (the same variables a worker-level default sets, `WEFT_POSTGRES_URL`, …,
 * laid over the worker's environment, so egress entries and the response cap stay the worker's).
 *
 * Where connections are stored and how they are decrypted is the worker's business
 * (`src/connections/`): activities see a {@link ConnectionSource} only.
 */
import { z } from 'zod';
import { CONNECTION_NAME_PATTERN } from '../interpreter/definition-schema.js';
import type { ConnectorEnv } from './connectors/connector.js';

/**
 * The settings an http connection gives its connector. Not environment variables: names no
 * shell sets, and the registry drops them from a worker's own environment, so only a named
 * connection gives the http connector a base URL and headers.
 */
export const HTTP_BASE_URL_SETTING = 'weft.connection.http.base_url';
export const HTTP_HEADERS_SETTING = 'weft.connection.http.headers';
/** What every connection-only setting starts with. */
export const CONNECTION_SETTING_PREFIX = 'weft.connection.';

/** A connection's name: what a task's `connection` and the routes' `{name}` hold. */
export { CONNECTION_NAME_PATTERN };
export const ConnectionName = z
  .string()
  .regex(
    CONNECTION_NAME_PATTERN,
    'expected a connection name: 1-63 of a-z, 0-9, "-", "_", starting with a letter or digit',
  );

const Host = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, 'expected a host name or IP address (IPv6 in [ ])');
const Port = z.number().int().min(1).max(65535);
const Text = z.string().min(1).max(1024);
const Secret = z.string().min(1).max(8192);
const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');
const Headers = z.record(HeaderName, z.string().max(8192));

/** One connector's connection: the fields of `settings` and of `secret_settings` (both strict). */
interface ConnectionType {
  settings: z.ZodType<Record<string, unknown>>;
  secrets: z.ZodType<Record<string, unknown>>;
  /** The connector's settings (its `WEFT_*` variables) this connection stands for. */
  env(settings: Record<string, unknown>, secrets: Record<string, unknown>): Record<string, string>;
}

const credentials = (user: unknown, password: unknown): string =>
  typeof user === 'string' || typeof password === 'string'
    ? `${encodeURIComponent(typeof user === 'string' ? user : '')}${typeof password === 'string' ? `:${encodeURIComponent(password)}` : ''}@`
    : '';

const postgres: ConnectionType = {
  settings: z.strictObject({
    host: Host,
    port: Port.default(5432),
    database: Text,
    user: Text,
    /** `sslmode=require`. */
    ssl: z.boolean().default(false),
    pool_max: z.number().int().min(1).max(100).optional(),
  }),
  secrets: z.strictObject({ password: Secret.optional() }),
  env: (s, secret) => ({
    WEFT_POSTGRES_URL: `postgres://${credentials(s.user, secret.password)}${String(s.host)}:${String(s.port)}/${encodeURIComponent(String(s.database))}${s.ssl === true ? '?sslmode=require' : ''}`,
    ...(s.pool_max === undefined ? {} : { WEFT_POSTGRES_POOL_MAX: `${Number(s.pool_max)}` }),
  }),
};

const redis: ConnectionType = {
  settings: z.strictObject({
    host: Host,
    port: Port.default(6379),
    db: z.number().int().min(0).max(15).default(0),
    username: Text.optional(),
    tls: z.boolean().default(false),
  }),
  secrets: z.strictObject({ password: Secret.optional() }),
  env: (s, secret) => ({
    WEFT_REDIS_URL: `${s.tls === true ? 'rediss' : 'redis'}://${credentials(s.username, secret.password)}${String(s.host)}:${String(s.port)}/${String(s.db)}`,
  }),
};

/** An http(s) base URL without credentials (they go in `secret_settings`), query or fragment. */
const BaseUrl = (credentialsHint: string) =>
  z
    .url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' })
    .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), {
      message: `expected a URL without user:password@; ${credentialsHint}`,
    })
    .refine((u) => !URL.canParse(u) || (new URL(u).search === '' && new URL(u).hash === ''), {
      message: 'expected a URL without ?query or #fragment',
    });

const http: ConnectionType = {
  settings: z.strictObject({
    base_url: BaseUrl('put credentials in secret_settings.headers'),
    /** Headers sent with every request, shown to readers (`user-agent`, `accept`, …). */
    headers: Headers.default({}),
  }),
  /** Headers sent with every request, never shown (`authorization`, `x-api-key`, …). */
  secrets: z.strictObject({ headers: Headers.default({}) }),
  env: (s, secret) => ({
    [HTTP_BASE_URL_SETTING]: String(s.base_url),
    [HTTP_HEADERS_SETTING]: JSON.stringify({ ...(s.headers as object), ...(secret.headers as object) }),
  }),
};

const HostPort = z
  .string()
  .regex(/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'expected host:port, such as "nats.internal:4222"');

const nats: ConnectionType = {
  settings: z.strictObject({
    /** The cluster's servers; servers it announces are not used. */
    servers: z.array(HostPort).min(1).max(16),
    user: Text.optional(),
    tls: z.boolean().default(false),
  }),
  secrets: z.strictObject({ password: Secret.optional() }),
  env: (s, secret) => ({
    WEFT_NATS_URL: (s.servers as string[])
      .map((server) => `${s.tls === true ? 'tls' : 'nats'}://${credentials(s.user, secret.password)}${server}`)
      .join(','),
  }),
};

const email: ConnectionType = {
  settings: z.strictObject({
    host: Host,
    /** 587 (STARTTLS when offered), or 465 with `secure`. */
    port: Port.optional(),
    /** TLS from the start (`smtps://`). */
    secure: z.boolean().default(false),
    user: Text.optional(),
    /** The sender of messages whose `send` gives no `from`. */
    from: Text.optional(),
  }),
  secrets: z.strictObject({ password: Secret.optional() }),
  env: (s, secret) => ({
    WEFT_SMTP_URL: `${s.secure === true ? 'smtps' : 'smtp'}://${credentials(s.user, secret.password)}${String(s.host)}${s.port === undefined ? '' : `:${Number(s.port)}`}`,
    ...(s.from === undefined ? {} : { WEFT_SMTP_FROM: s.from as string }),
  }),
};

/**
 * The AI endpoint (`ai` nodes' `connection`): an OpenAI-compatible base URL and its key. Not a
 * registry connector: `runAi` reads it with {@link aiEndpointOf}, so it stands for no settings.
 */
const ai: ConnectionType = {
  settings: z.strictObject({
    base_url: BaseUrl('put the key in secret_settings.api_key'),
    /** Sent as `OpenAI-Organization`. */
    organization: Text.optional(),
  }),
  secrets: z.strictObject({ api_key: Secret }),
  env: () => ({}),
};

/** The connectors that take a named connection, and the fields of each. */
export const CONNECTION_TYPES: Readonly<Record<string, ConnectionType>> = { postgres, redis, http, nats, email, ai };

/** Connectors that may take one later, refused at create until then (with this reason); none left. */
export const UNSUPPORTED_CONNECTION_TYPES: Readonly<Record<string, string>> = {};

/** The endpoint an `ai` connection stands for: what `runAi` builds its OpenAI client with. */
export function aiEndpointOf(connection: ResolvedConnection): {
  baseURL: string;
  apiKey: string;
  organization?: string;
} {
  const settings = ai.settings.parse(connection.settings);
  const secrets = ai.secrets.parse(connection.secret_settings);
  return {
    baseURL: String(settings.base_url),
    apiKey: String(secrets.api_key),
    ...(typeof settings.organization === 'string' ? { organization: settings.organization } : {}),
  };
}

/** A connection as the activity sees it, decrypted: never put into an input, a result, state or a log. */
export interface ResolvedConnection {
  name: string;
  connector: string;
  /** Rises with every change (`PUT`): pools are keyed by it, so a rotated connection gets a new one. */
  version: number;
  settings: Record<string, unknown>;
  secret_settings: Record<string, unknown>;
}

/** Where activities find a run's connections: the tenant's, by name; undefined when it has none of that name. */
export interface ConnectionSource {
  resolve(tenant: string, name: string): Promise<ResolvedConnection | undefined>;
}

/** A worker without a store of connections: every `connection` is not found. */
export const noConnections: ConnectionSource = { resolve: () => Promise.resolve(undefined) };

/** The connector settings a connection stands for, over the worker's own (`env`). */
export function connectionEnv(connection: ResolvedConnection, env: ConnectorEnv): ConnectorEnv {
  const type = CONNECTION_TYPES[connection.connector];
  if (!type)
    throw new Error(`connection "${connection.name}": connector "${connection.connector}" takes no connection`);
  return { ...env, ...type.env(connection.settings, connection.secret_settings) };
}

/** Every secret value of a connection (masked wherever the activity hands something back). */
export function connectionSecretValues(connection: ResolvedConnection): string[] {
  const values: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') values.push(v);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(connection.secret_settings);
  return values.filter((v) => v.length > 0);
}
