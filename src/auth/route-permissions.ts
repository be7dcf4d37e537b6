/**
 * What each endpoint needs, in one table, so the authorisation of every route can be read (and
 * tested, endpoint × role) in one place and a new route without an entry is refused to all but
 * admins rather than silently open.
 */
import type { Permission } from './roles.js';

/**
 * - a permission: the caller must hold it;
 * - `public`: no credentials needed (health, readiness);
 * - `signed`: a webhook; credentials with `run`, or (checked by the route) the definition's
 *   webhook signature.
 */
export type RouteAccess = Permission | 'public' | 'signed';

export interface RouteRule {
  method: string;
  /** OpenAPI-style template: `/v1/runs/{run_id}`. */
  path: string;
  access: RouteAccess;
}

const CONTROL_ACTIONS = ['pause', 'resume', 'cancel', 'retry', 'skip'] as const;

export const ROUTE_RULES: readonly RouteRule[] = [
  { method: 'GET', path: '/healthz', access: 'public' },
  { method: 'GET', path: '/readyz', access: 'public' },
  { method: 'GET', path: '/metrics', access: 'read' },
  { method: 'GET', path: '/docs', access: 'read' },
  { method: 'GET', path: '/v1/openapi.json', access: 'read' },
  { method: 'GET', path: '/v1/schema/definition.json', access: 'read' },
  { method: 'GET', path: '/v1/whoami', access: 'read' },
  { method: 'POST', path: '/v1/definitions/validate', access: 'read' },
  { method: 'POST', path: '/v1/definitions', access: 'edit' },
  { method: 'GET', path: '/v1/definitions', access: 'read' },
  { method: 'GET', path: '/v1/definitions/{id}', access: 'read' },
  { method: 'GET', path: '/v1/definitions/{id}/versions', access: 'read' },
  { method: 'GET', path: '/v1/definitions/{id}/versions/{version}', access: 'read' },
  { method: 'GET', path: '/v1/definitions/{id}/versions/{a}/diff/{b}', access: 'read' },
  { method: 'GET', path: '/v1/definitions/{id}/history', access: 'read' },
  { method: 'GET', path: '/v1/definitions/{id}/stats', access: 'read' },
  { method: 'PUT', path: '/v1/definitions/{id}/active', access: 'edit' },
  { method: 'POST', path: '/v1/definitions/{id}/versions/{version}/approvals', access: 'approve' },
  { method: 'POST', path: '/v1/definitions/{id}/runs', access: 'run' },
  { method: 'GET', path: '/v1/runs', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}/result', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}/lineage', access: 'read' },
  ...CONTROL_ACTIONS.map((action) => ({ method: 'POST', path: `/v1/runs/{run_id}/${action}`, access: 'run' as const })),
  { method: 'PATCH', path: '/v1/runs/{run_id}/variables', access: 'run' },
  { method: 'POST', path: '/v1/runs/{run_id}/approvals/{node}', access: 'approve' },
  { method: 'POST', path: '/v1/events', access: 'run' },
  { method: 'POST', path: '/v1/hooks/{definition_id}', access: 'signed' },
  { method: 'GET', path: '/v1/audit', access: 'read' },
  { method: 'POST', path: '/v1/keys', access: 'admin' },
  { method: 'GET', path: '/v1/keys', access: 'admin' },
  { method: 'DELETE', path: '/v1/keys/{key_id}', access: 'admin' },
  { method: 'GET', path: '/v1/tenants', access: 'admin' },
  { method: 'GET', path: '/v1/tenants/{tenant}', access: 'admin' },
  { method: 'PUT', path: '/v1/tenants/{tenant}', access: 'admin' },
  { method: 'POST', path: '/codec/encode', access: 'run' },
  { method: 'POST', path: '/codec/decode', access: 'run' },
];

const compiled = ROUTE_RULES.map((rule) => ({
  rule,
  pattern: new RegExp(`^${rule.path.replace(/[.]/g, '\\.').replace(/\{[a-z_]+\}/g, '[^/]+')}/?$`),
}));

/** The rule of a request; `HEAD` is answered like `GET`. Undefined for paths no route serves. */
export function ruleFor(method: string, path: string): RouteRule | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  return compiled.find(({ rule, pattern }) => rule.method === wanted && pattern.test(path))?.rule;
}
