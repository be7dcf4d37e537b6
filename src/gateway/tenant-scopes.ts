/**
 * Per-tenant services. A request acts in its caller's tenant; everything it reaches (the
 * definitions, runs, listing, control, stats and schedules) is built for that tenant, with the
 * tenant's Temporal namespace and task queue when it is mapped to its own, so no route can
 * forget to scope a lookup.
 */
import type { Request } from 'express';
import type { TenantConnections } from './connection-checks.js';
import { QUOTA_DEFAULTS, effectiveQuotas, type Quotas } from '../../interpreter/quotas.js';
import { identityOf } from '../auth/identity.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import type { TenantRecord } from '../store/access-store.js';
import type { DefinitionStore } from '../store/definition-store.js';
import { TenantDefinitions } from '../store/tenant-store.js';
import { TenantRuns } from '../temporal/tenant-runs.js';
import type { DefinitionStats } from './definition-stats.js';
import type { RunControl } from './run-control.js';
import type { RunListing } from './run-listing.js';
import type { RunService } from './run-service.js';
import type { ScheduleSync } from './schedule-sync.js';

/** A tenant with the gateway's defaults filled in. */
export interface EffectiveTenant {
  id: string;
  namespace: string;
  taskQueue: string;
  fourEyes: boolean;
  /** The gateway's `WEFT_QUOTA_*` defaults with the tenant's own quotas on top. */
  quotas: Quotas;
}

export interface TenantServices {
  runs: RunService;
  listing: ReturnType<RunListing['forTenant']>;
  control?: RunControl;
  stats?: DefinitionStats;
  schedules?: ScheduleSync;
}

export interface TenantScope extends TenantServices {
  tenant: EffectiveTenant;
  /** The tenant's named connections (name → connector), read with the scope: what submit checks `connection`s against. */
  connections: TenantConnections;
  definitions: TenantDefinitions;
  ids: TenantRuns;
}

export interface TenantScopesOptions {
  store: DefinitionStore;
  namespace: string;
  taskQueue: string;
  /** `WEFT_FOUR_EYES=true`: four-eyes publishing for tenants without a setting of their own. */
  fourEyes: boolean;
  /** `WEFT_QUOTA_*`: quotas for tenants without values of their own (default: QUOTA_DEFAULTS). */
  quotas?: Quotas;
  build(tenant: EffectiveTenant, definitions: TenantDefinitions, ids: TenantRuns): TenantServices;
}

export class TenantScopes {
  /** Services by tenant and placement. */
  private readonly cache = new Map<string, Omit<TenantScope, 'tenant' | 'connections'>>();

  constructor(private readonly options: TenantScopesOptions) {}

  /** The quotas of tenants without values of their own. */
  get defaultQuotas(): Quotas {
    return this.options.quotas ?? QUOTA_DEFAULTS;
  }

  /** A tenant's quotas as they are now (its record is read afresh). */
  async quotasOf(tenantId: string): Promise<Quotas> {
    const record = await this.options.store.access.getTenant(tenantId);
    return effectiveQuotas(this.defaultQuotas, record?.quotas);
  }

  /** The scope of the request's caller. */
  ofRequest(req: Request): Promise<TenantScope> {
    return this.of(identityOf(req).tenant);
  }

  /**
   * The scope of a tenant. Its record is read on every call, so a change made through any
   * gateway sharing the store (four-eyes on, a new namespace or queue) holds at once everywhere;
   * the services are built once per placement (namespace and queue), so what they remember
   * (runs started lately, schedule reconciliation) lasts.
   */
  async of(tenantId: string): Promise<TenantScope> {
    const record: TenantRecord | undefined = await this.options.store.access.getTenant(tenantId);
    const tenant: EffectiveTenant = {
      id: tenantId,
      namespace: record?.namespace ?? this.options.namespace,
      taskQueue: record?.task_queue ?? this.options.taskQueue,
      fourEyes: record?.four_eyes ?? this.options.fourEyes,
      quotas: effectiveQuotas(this.defaultQuotas, record?.quotas),
    };
    const key = JSON.stringify([tenant.id, tenant.namespace, tenant.taskQueue]);
    let placed = this.cache.get(key);
    if (!placed) {
      const definitions = new TenantDefinitions(this.options.store, tenantId);
      const ids = new TenantRuns(tenantId);
      placed = { definitions, ids, ...this.options.build(tenant, definitions, ids) };
      this.cache.set(key, placed);
    }
    const connections = new Map(
      (await this.options.store.connections.list(tenantId)).map((c) => [c.name, c.connector] as const),
    );
    return { ...placed, tenant, connections };
  }
}

export { DEFAULT_TENANT };
