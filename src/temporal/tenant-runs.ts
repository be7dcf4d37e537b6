/**
 * How a tenant's runs are told apart in a Temporal namespace they may share with other tenants.
 * A run's workflow id is `<tenant>/<run id>` (the default tenant's runs keep the bare run id),
 * and run ids cannot contain '/', so one tenant can never name another's run, however it guesses
 * or chooses ids. Runs also carry the tenant as the `WeftTenant` search attribute, which scopes
 * every visibility query (listing, event delivery, retries, stats).
 */
import { TenantKey } from '../shared/search-attributes.js';
import { tenantPrefix } from '../shared/tenants.js';

export class TenantRuns {
  constructor(readonly tenant: string) {}

  private get prefix(): string {
    return tenantPrefix(this.tenant);
  }

  /** The workflow id of one of this tenant's runs. */
  workflowId(runId: string): string {
    return `${this.prefix}${runId}`;
  }

  /** The run id the tenant knows a workflow by (the workflow id without the tenant prefix). */
  runId(workflowId: string): string {
    return this.prefix && workflowId.startsWith(this.prefix) ? workflowId.slice(this.prefix.length) : workflowId;
  }

  /** `query` restricted to this tenant's runs. Tenant ids are pattern-checked: safe in quotes. */
  scope(query: string): string {
    return `${TenantKey.name} = '${this.tenant}' AND (${query})`;
  }

  /** The search attribute every run of this tenant is started with. */
  get searchAttribute() {
    return { key: TenantKey, value: this.tenant };
  }
}
