/** What the gateway's routes are built from; injected, so tests run them on real services. */
import type { Request } from 'express';
import type { ConnectorCatalog, ParamsCheck } from '../../interpreter/validate-definition.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { DefinitionStats } from './definition-stats.js';
import type { RunControl } from './run-control.js';
import type { RunListing } from './run-listing.js';
import type { RunService } from './run-service.js';
import type { ScheduleSync } from './schedule-sync.js';

export interface GatewayDeps {
  store: DefinitionStore;
  runs: RunService;
  /** `GET /v1/runs`. */
  listing: RunListing;
  /** Keeps Temporal Schedules in step with active versions; without it schedules are not managed. */
  schedules?: ScheduleSync;
  catalog: ConnectorCatalog;
  /** Checks task inputs against the connectors' params schemas at submit time. */
  checkParams?: ParamsCheck;
  logger: Logger;
  /** Checks that Temporal answers; used by `/readyz`. */
  temporalReady: () => Promise<void>;
  /** Looks up a webhook secret by the name a trigger gives; defaults to the process environment. */
  secret?: (name: string) => string | undefined;
  /** Operator actions and events (pause, retry, approvals, POST /v1/events); without it those routes are absent. */
  control?: RunControl;
  /** Prometheus series served at `GET /metrics`; without it the route answers an empty registry. */
  metrics?: GatewayMetrics;
  /** `GET /v1/definitions/{id}/stats`; without it the route answers 503. */
  stats?: DefinitionStats;
  /** Upper bound for request bodies. */
  bodyLimit?: string;
}

/** Who made the request. Authentication comes later; until then every caller is anonymous. */
export function actor(_req: Request): string {
  return 'anonymous';
}

/** A path parameter as a string ('' when absent). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}
