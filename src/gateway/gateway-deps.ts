/** What the gateway's routes are built from; injected, so tests run them on real services. */
import type { Request } from 'express';
import type { ConnectorCatalog, ParamsCheck } from '../../interpreter/validate-definition.js';
import type { RateLimitSettings } from '../config.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { CodecRouteOptions } from './codec-routes.js';
import type { GatewayAuth } from '../auth/authenticate.js';
import type { TenantScopes } from './tenant-scopes.js';
import type { AuditLog } from './audit.js';

export interface GatewayDeps {
  /** The whole store: audit log, keys and tenants. Routes reach definitions through their tenant's scope. */
  store: DefinitionStore;
  /** Each tenant's definitions, runs, listing, control, stats and schedules. */
  scopes: TenantScopes;
  /** Identifies callers and checks their roles on every route. */
  auth: GatewayAuth;
  catalog: ConnectorCatalog;
  /** Checks task inputs against the connectors' params schemas at submit time. */
  checkParams?: ParamsCheck;
  logger: Logger;
  /** Checks that Temporal answers; used by `/readyz`. */
  temporalReady: () => Promise<void>;
  /** Looks up a webhook secret by the name a trigger gives; defaults to the process environment. */
  secret?: (name: string) => string | undefined;
  /** Looks up a webhook secret of a tenant other than the default one (its `<tenant>/<NAME>` secrets). */
  tenantSecret?: (name: string, tenant: string) => Promise<string | undefined>;
  /** Prometheus series served at `GET /metrics`; without it the route answers an empty registry. */
  metrics?: GatewayMetrics;
  /** The remote codec endpoint (`POST /codec/encode|decode`) of encrypted payloads; without it those routes are absent. */
  codec?: CodecRouteOptions;
  /** `WEFT_CONNECTION_KEY`: seals named connections' secret settings; without it none can be stored or tested. */
  connectionKey?: Buffer;
  /** Upper bound for request bodies: bytes, or a string such as `'2mb'` (the default). */
  bodyLimit?: string | number;
  /** Per-caller token bucket (`WEFT_RATE_LIMIT`); without it requests are not limited. */
  rateLimit?: RateLimitSettings;
  /** The audit log, when work entering by other doors (NATS) is logged too; by default one of `store`'s. */
  audit?: AuditLog;
}

/** Who made the request, as the audit log and run history name them. */
export function actor(req: Request): string {
  return req.identity?.actor ?? 'anonymous';
}

/** A path parameter as a string ('' when absent). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}
