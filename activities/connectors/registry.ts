/**
 * The typed registry of connectors a worker offers. Connections are opened lazily, once per
 * worker, shared by every call, and closed by `close()` on shutdown.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ConnectorCatalog } from '../../interpreter/validate-definition.js';
import { ErrorTypes, retryableFailure } from '../errors.js';
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

/** JSON Schemas of every action's params: `{ [connector]: { [action]: schema } }`. */
export type ParamsSchemas = Record<string, Record<string, Record<string, unknown>>>;

export class ConnectorRegistry {
  private readonly connectors = new Map<string, Connector>();
  private readonly connections = new Map<string, Promise<unknown>>();
  private readonly env: ConnectorEnv;

  constructor(options: RegistryOptions = {}) {
    for (const connector of options.connectors ?? builtInConnectors) {
      this.connectors.set(connector.service_type, connector);
    }
    this.env = options.env ?? process.env;
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
   * The pooled connection of a connector, opened on first use. A connect that fails with
   * anything but an ApplicationFailure becomes a retryable `ConnectionError`.
   */
  connection(connector: Connector): Promise<unknown> {
    let connection = this.connections.get(connector.service_type);
    if (!connection) {
      connection = connector.connect(this.env).catch((err: unknown) => {
        // A failed connect must not poison the pool: the next call tries again.
        this.connections.delete(connector.service_type);
        if (err instanceof ApplicationFailure) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        throw retryableFailure(ErrorTypes.ConnectionError, `${connector.service_type}: cannot connect: ${reason}`);
      });
      this.connections.set(connector.service_type, connection);
    }
    return connection;
  }

  /** Disconnects every opened connection. */
  async close(): Promise<void> {
    const open = [...this.connections];
    this.connections.clear();
    await Promise.allSettled(
      open.map(async ([name, connection]) => this.connectors.get(name)?.disconnect(await connection)),
    );
  }
}
