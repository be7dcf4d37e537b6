/**
 * What the gateway keeps about access and change: API keys (only their hashes), tenants and
 * their settings, and the change history of each definition (who submitted, activated, approved
 * or rejected which version). Kept in the definition store's database, so a gateway crash loses
 * none of it once answered.
 */
import type { QuotaOverrides } from '../../interpreter/quotas.js';
import type { Role } from '../auth/roles.js';

export interface ApiKeyRecord {
  /** Public part of the key (`wk_<id>_<secret>`), used to look it up. */
  id: string;
  name: string;
  tenant: string;
  roles: Role[];
  /** sha256 of the key's secret part, hex. */
  hash: string;
  created_at: string;
  created_by: string;
  revoked_at?: string;
}

export interface TenantRecord {
  id: string;
  /** Temporal namespace the tenant's runs live in (default: the gateway's). */
  namespace?: string;
  /** Task queue the tenant's runs are put on (default: the gateway's). */
  task_queue?: string;
  /** A version becomes active only when an approver other than its author approves it. */
  four_eyes: boolean;
  /** The tenant's own quotas, over the gateway's `WEFT_QUOTA_*` defaults (timer_horizon in ms). */
  quotas?: QuotaOverrides;
  created_at: string;
  created_by: string;
}

export type DefinitionEventAction = 'submitted' | 'activated' | 'approved' | 'rejected';

export interface DefinitionEvent {
  at: string;
  actor: string;
  action: DefinitionEventAction;
  version: string;
  comment?: string;
}

export interface AccessStore {
  createApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Keys of one tenant, or of all tenants when `tenant` is omitted; oldest first. */
  listApiKeys(tenant?: string): Promise<ApiKeyRecord[]>;
  /** False when no such key exists or it was revoked already. */
  revokeApiKey(id: string, at: string): Promise<boolean>;
  /** True once any key was ever created (revoked ones count: revoking all never reopens the gateway). */
  anyApiKeys(): Promise<boolean>;
  /** Creates or replaces a tenant's record. */
  putTenant(record: TenantRecord): Promise<void>;
  getTenant(id: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  /** Appends to the change history of the definition stored under `key`. */
  appendDefinitionEvent(key: string, event: DefinitionEvent): Promise<void>;
  /** The change history of the definition stored under `key`, oldest first. */
  definitionEvents(key: string): Promise<DefinitionEvent[]>;
}
