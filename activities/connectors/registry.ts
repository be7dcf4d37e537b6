/**
 * The typed registry of connectors a worker offers. Connections are opened lazily, once per
 * worker, shared by every call, and closed by `close()` on shutdown.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ConnectorCatalog } from '../../interpreter/validate-definition.js';
import { egressPolicyFromEnv, type EgressGuard, type EgressResolution } from '../egress.js';
import { ErrorTypes, namingTarget, retryableFailure } from '../errors.js';
import { CONNECTION_SETTING_PREFIX } from '../connections.js';
import type { Connector, ConnectorEnv } from './connector.js';
import { emailConnector } from './email.js';
import { httpConnector } from './http.js';
import { natsConnector } from './nats.js';
import { postgresConnector } from './postgres.js';
import { redisConnector } from './redis.js';

/** Whether a value on the path (or any value above it) is only known at run time. */
function dependsOnRuntime(root: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  const runtime = (v: unknown): boolean =>
    typeof v === 'string'
      ? v.includes('{{') || v.startsWith('secret:')
      : Array.isArray(v)
        ? v.some(runtime)
        : v !== null && typeof v === 'object'
          ? Object.values(v).some(runtime)
          : false;
  let current: unknown = root;
  for (const key of path) {
    if (typeof current === 'string' && runtime(current)) return true;
    if (current === null || typeof current !== 'object') return false;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return runtime(current);
}

/** The connectors every worker has unless told otherwise. */
export const builtInConnectors: Connector[] = [
  httpConnector,
  postgresConnector,
  natsConnector,
  redisConnector,
  emailConnector,
];

export interface RegistryOptions {
  /** Defaults to {@link builtInConnectors}. */
  connectors?: Connector[];
  /** Settings the connectors read when they connect; defaults to `process.env`. */
  env?: ConnectorEnv;
}

/** 10 MiB: the default of `WEFT_MAX_RESPONSE_BYTES`. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** `WEFT_MAX_RESPONSE_BYTES`: a positive integer, else start-up fails naming the variable. */
export function maxResponseBytesFromEnv(env: ConnectorEnv): number {
  const text = env.WEFT_MAX_RESPONSE_BYTES;
  if (text === undefined || text === '') return DEFAULT_MAX_RESPONSE_BYTES;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`WEFT_MAX_RESPONSE_BYTES: expected a positive integer number of bytes, got "${text}"`);
  }
  return value;
}

interface Pooled {
  connection: unknown;
  pinned: EgressResolution[];
  connector: Connector;
}

/** A call through a tenant's named connection: its pool and the settings it stands for. */
export interface ConnectionScope {
  /** The connection's name, as failures name it. */
  name: string;
  /** The pool's key: `<connector>|<tenant>/<name>#<version>`. */
  key: string;
  /** The connector's settings: the worker's, with the connection's over them. */
  env: ConnectorEnv;
}

/** The pool key of a tenant's connection at one version. */
export function connectionKey(connector: string, tenant: string, name: string, version: number): string {
  return `${connector}|${tenant}/${name}#${version}`;
}

/** JSON Schemas of every action's params: `{ [connector]: { [action]: schema } }`. */
export type ParamsSchemas = Record<string, Record<string, Record<string, unknown>>>;

export class ConnectorRegistry {
  private readonly connectors = new Map<string, Connector>();
  private readonly connections = new Map<string, Promise<Pooled>>();
  private readonly env: ConnectorEnv;

  constructor(options: RegistryOptions = {}) {
    for (const connector of options.connectors ?? builtInConnectors) {
      this.connectors.set(connector.service_type, connector);
    }
    this.env = options.env ?? process.env;
    // A bad WEFT_EGRESS_* or WEFT_MAX_RESPONSE_BYTES stops the worker at start-up, named.
    egressPolicyFromEnv(this.env);
    maxResponseBytesFromEnv(this.env);
  }

  /** The egress policy as a tenant's calls see it (read from the settings as they are now). */
  egress(tenant: string): EgressGuard {
    return egressPolicyFromEnv(this.env).forTenant(tenant);
  }

  /** The response cap of one call: the worker's `WEFT_MAX_RESPONSE_BYTES`, lowered by the call's. */
  maxResponseBytes(call?: number): number {
    const cap = maxResponseBytesFromEnv(this.env);
    return call !== undefined && call > 0 ? Math.min(call, cap) : cap;
  }

  get(serviceType: string): Connector | undefined {
    return this.connectors.get(serviceType);
  }

  /** Names of connectors and their actions, for submit-time validation. */
  catalog(): ConnectorCatalog {
    return Object.fromEntries([...this.connectors].map(([name, c]) => [name, Object.keys(c.actions)]));
  }

  /**
   * Submit-time check of a task's inputs against its action's params schema. Only what is
   * known then is judged: a value that holds a `{{ template }}` or a `secret:` reference is
   * rendered or resolved at run time, so problems inside such values are not reported, but an
   * unknown key, a missing required one or a literal of the wrong type is.
   */
  checkParams(
    connector: string,
    action: string,
    inputs: Record<string, unknown>,
  ): Array<{ path: string; message: string }> {
    const schema = this.connectors.get(connector)?.actions[action]?.params;
    if (!schema) return [];
    const parsed = schema.safeParse(inputs);
    if (parsed.success) return [];
    return parsed.error.issues
      .filter((issue) => issue.code === 'unrecognized_keys' || !dependsOnRuntime(inputs, issue.path))
      .map((issue) => ({
        path: issue.path.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''),
        message: issue.message,
      }));
  }

  /**
   * The params of every action as JSON Schema (the input side: defaults make fields optional),
   * for the OpenAPI description. Zod-only refinements and transforms are left out.
   */
  paramsSchemas(): ParamsSchemas {
    return Object.fromEntries(
      [...this.connectors].map(([name, connector]) => [
        name,
        Object.fromEntries(
          Object.entries(connector.actions).map(([action, { params }]) => [
            action,
            z.toJSONSchema(params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
          ]),
        ),
      ]),
    );
  }

  /**
   * Runs `use` on the pooled connection for a call of `tenant`; a failure, of the connect or of
   * the call, names the connector's target (`Connector.describe`), type and retry unchanged.
   * With `via` (a named connection) the pool is that connection's and its settings are the
   * connection's over the worker's; the failure names the connection too.
   */
  async call<T>(
    connector: Connector,
    tenant: string,
    use: (connection: unknown) => Promise<T>,
    via?: ConnectionScope,
  ): Promise<T> {
    try {
      return await use(await this.connection(connector, tenant, via));
    } catch (err) {
      throw namingTarget(err, connector.service_type, this.target(connector, via));
    }
  }

  /** The connector's target as failures name it; none when its settings do not parse (that failure says why). */
  private target(connector: Connector, via?: ConnectionScope): string | undefined {
    let described: string | undefined;
    try {
      described = connector.describe?.(via?.env ?? this.settings());
    } catch {
      described = undefined;
    }
    if (!via) return described;
    return `${described === undefined ? '' : `${described} `}via connection "${via.name}"`;
  }

  /** The worker's settings without the ones only a named connection gives (`weft.connection.*`). */
  settings(): ConnectorEnv {
    return Object.fromEntries(Object.entries(this.env).filter(([k]) => !k.startsWith(CONNECTION_SETTING_PREFIX)));
  }

  /**
   * Closes the pools of a tenant's connection `name` but the one of `keep` (its current
   * version): a rotated connection's old pool, or every pool of a deleted one.
   */
  async retire(tenant: string, name: string, keep?: string): Promise<void> {
    const prefix = `${tenant}/${name}#`;
    const stale = [...this.connections].filter(([key]) => key.includes(`|${prefix}`) && key !== keep);
    for (const [key] of stale) this.connections.delete(key);
    await Promise.allSettled(
      stale.map(async ([, pooled]) => (await pooled).connector.disconnect((await pooled).connection)),
    );
  }

  /**
   * The pooled connection of a connector, opened on first use, for a call of `tenant`: the
   * connector's targets are resolved and checked against the egress policy before connecting,
   * and the addresses connected to are checked for the calling tenant on every call. A connect
   * that fails with anything but an ApplicationFailure becomes a retryable `ConnectionError`.
   * With `via`, the pool of that named connection (keyed by its tenant, name and version).
   */
  async connection(connector: Connector, tenant: string, via?: ConnectionScope): Promise<unknown> {
    const key = via ? via.key : connector.service_type;
    const env = via ? via.env : this.settings();
    const guard = this.egress(tenant);
    const existing = this.connections.get(key);
    if (existing) {
      const opened = await existing.catch(() => undefined);
      if (opened) return this.checked(opened, guard);
    }
    // None yet, or another call's connect failed (perhaps refused for its own tenant, which is
    // not this call's answer): join one opened meanwhile, or open it.
    const meanwhile = this.connections.get(key);
    if (meanwhile && meanwhile !== existing) return this.checked(await meanwhile, guard);
    const opening = this.open(connector, guard, env);
    this.connections.set(key, opening);
    // A failed connect (or a refused target) must not poison the pool: the next call tries again.
    opening.catch(() => {
      if (this.connections.get(key) === opening) this.connections.delete(key);
    });
    return (await opening).connection;
  }

  /** The pooled connection, once its addresses are checked for this call's tenant. */
  private async checked(opened: Pooled, guard: EgressGuard): Promise<unknown> {
    for (const resolution of opened.pinned) await guard.check(resolution);
    return opened.connection;
  }

  private async open(connector: Connector, guard: EgressGuard, env: ConnectorEnv): Promise<Pooled> {
    try {
      const pinned: EgressResolution[] = [];
      for (const target of connector.targets?.(env) ?? []) pinned.push(await guard.resolve(target));
      return { connection: await connector.connect(env, pinned), pinned, connector };
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw retryableFailure(ErrorTypes.ConnectionError, `${connector.service_type}: cannot connect: ${reason}`);
    }
  }

  /** Disconnects every opened connection. */
  async close(): Promise<void> {
    const open = [...this.connections];
    this.connections.clear();
    await Promise.allSettled(
      open.map(async ([, pooled]) => {
        const opened = await pooled;
        await opened.connector.disconnect(opened.connection);
      }),
    );
  }
}
