/**
 * Tenant ids and how a tenant's names are kept apart from other tenants' in stores and Temporal
 * namespaces they share: a name is `<tenant>/<id>` (the default tenant's the bare id, as before
 * tenants existed), and ids cannot contain '/', so no id a tenant chooses or guesses reaches
 * another tenant. Shared by the gateway, the store, the Temporal wiring and the activities.
 */

/** The tenant every installation has; runs and definitions from before tenants existed belong to it. */
export const DEFAULT_TENANT = 'default';
/** Tenant ids: lower-case letters, digits and '-', at most 63 characters (a DNS label). */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** What goes before a tenant's ids: `<tenant>/`, nothing for the default tenant. */
export function tenantPrefix(tenant: string): string {
  return tenant === DEFAULT_TENANT ? '' : `${tenant}/`;
}

/** The storage key of a tenant's definition id. */
export function definitionKey(tenant: string, id: string): string {
  return `${tenantPrefix(tenant)}${id}`;
}

/** The tenant owning a workflow id (the part before the first '/', else the default tenant). */
export function tenantOfWorkflowId(workflowId: string): string {
  const slash = workflowId.indexOf('/');
  return slash < 0 ? DEFAULT_TENANT : workflowId.slice(0, slash);
}
