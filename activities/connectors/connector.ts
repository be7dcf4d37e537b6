/**
 * The connector contract: a service type, its actions with zod schemas for their params, and a
 * connection opened once per worker (on first use) and closed on shutdown.
 */
import type { z } from 'zod';
import { ErrorTypes, nonRetryableFailure } from '../errors.js';
import type { EgressGuard, EgressResolution, EgressTarget } from '../egress.js';

/**
 * Where connectors read their settings (`WEFT_POSTGRES_URL`, …): the process environment in a
 * worker, a plain object in tests so each test points a connector at its own service.
 */
export type ConnectorEnv = Readonly<Record<string, string | undefined>>;

/** What an action receives besides its params. */
export interface ActionContext {
  /** Aborted when Temporal cancels the activity or the worker shuts down. */
  signal: AbortSignal;
  /** Records liveness for long calls (Temporal activity heartbeat). */
  heartbeat: (details?: unknown) => void;
  /** The egress policy for the calling run's tenant: check every host before connecting to it. */
  egress: EgressGuard;
  /** The most bytes of response this call may read (the worker's cap, lowered by the call's). */
  maxResponseBytes: number;
}

export interface ConnectorAction<P extends z.ZodType = z.ZodType, C = unknown> {
  params: P;
  execute(connection: C, params: z.output<P>, ctx: ActionContext): Promise<unknown>;
}

export interface Connector<C = unknown> {
  service_type: string;
  /**
   * Opens the pooled connection from the settings in `env`; called once, on the first call that
   * needs it. Throwing makes that call fail (retryable); the next call tries again. `pinned` holds
   * the checked addresses of `targets(env)`, in order: connect to those, not to the names.
   */
  connect(env: ConnectorEnv, pinned: EgressResolution[]): Promise<C>;
  /**
   * The hosts the pooled connection will connect to; the registry checks them against the egress
   * policy before connecting, and again (for the calling tenant) before every call.
   */
  targets?(env: ConnectorEnv): EgressTarget[];
  /**
   * Where the pooled connection goes, as failures name it: `host:port` (and the database), never
   * the user, password or token of the setting. The registry starts the message of every failed
   * call with `<service_type> <target>`. Left out when each call names its own target (http).
   */
  describe?(env: ConnectorEnv): string | undefined;
  disconnect(connection: C): Promise<void>;
  actions: Record<string, ConnectorAction<z.ZodType, C>>;
}

/**
 * Fails with the non-retryable `ResponseTooLarge` when a value a driver already read (a result
 * set, a Redis value, a NATS reply) is over the call's cap, so it goes no further.
 */
export function checkResponseSize(value: unknown, limit: number, what: string): void {
  const text = JSON.stringify(value);
  const bytes = text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
  if (bytes > limit) {
    throw nonRetryableFailure(
      ErrorTypes.ResponseTooLarge,
      `${what}: response of ${bytes} bytes exceeds the cap of ${limit} bytes (WEFT_MAX_RESPONSE_BYTES, or the call's max_response_bytes)`,
      { limit },
    );
  }
}

/** Declares a connector with its actions type-checked against their params schemas. */
export function defineConnector<C>(connector: Connector<C>): Connector<C> {
  return connector;
}

/** Declares one action; the params type flows from the schema into `execute`. */
export function defineAction<P extends z.ZodType, C>(action: ConnectorAction<P, C>): ConnectorAction<z.ZodType, C> {
  return action;
}
