/**
 * The connector contract: a service type, its actions with zod schemas for their params, and a
 * connection opened once per worker (on first use) and closed on shutdown.
 */
import type { z } from 'zod';

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
}

export interface ConnectorAction<P extends z.ZodType = z.ZodType, C = unknown> {
  params: P;
  execute(connection: C, params: z.output<P>, ctx: ActionContext): Promise<unknown>;
}

export interface Connector<C = unknown> {
  service_type: string;
  /**
   * Opens the pooled connection from the settings in `env`; called once, on the first call that
   * needs it. Throwing makes that call fail (retryable); the next call tries again.
   */
  connect(env: ConnectorEnv): Promise<C>;
  disconnect(connection: C): Promise<void>;
  actions: Record<string, ConnectorAction<z.ZodType, C>>;
}

/** Declares a connector with its actions type-checked against their params schemas. */
export function defineConnector<C>(connector: Connector<C>): Connector<C> {
  return connector;
}

/** Declares one action; the params type flows from the schema into `execute`. */
export function defineAction<P extends z.ZodType, C>(action: ConnectorAction<P, C>): ConnectorAction<z.ZodType, C> {
  return action;
}
