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
  // weft Studio's page and bundle: public, they hold no data; every API call the page makes needs a key.
  { method: 'GET', path: '/', access: 'public' },
  { method: 'GET', path: '/studio/studio.js', access: 'public' },
  { method: 'GET', path: '/studio/studio.css', access: 'public' },
  { method: 'GET', path: '/studio/elk-worker.js', access: 'public' },
  { method: 'GET', path: '/v1/openapi.json', access: 'read' },
  { method: 'GET', path: '/v1/schema/definition.json', access: 'read' },
  { method: 'GET', path: '/v1/schema/template.json', access: 'read' },
  { method: 'GET', path: '/v1/whoami', access: 'read' },
  { method: 'POST', path: '/v1/definitions/validate', access: 'read' },
  // A test run costs CPU on the gateway (bounded, in slices), as an expression preview does: for people who edit.
  { method: 'POST', path: '/v1/definitions/test', access: 'edit' },
  // What-if replay runs test runs of a candidate against recorded runs (CPU, and the runs' outcomes): for people who edit.
  { method: 'POST', path: '/v1/definitions/{id}/what-if', access: 'edit' },
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
  { method: 'GET', path: '/v1/templates', access: 'read' },
  { method: 'GET', path: '/v1/templates/{id}', access: 'read' },
  { method: 'POST', path: '/v1/templates', access: 'edit' },
  { method: 'DELETE', path: '/v1/templates/{id}', access: 'edit' },
  { method: 'POST', path: '/v1/templates/{id}/instantiate', access: 'edit' },
  // Evaluation costs CPU on the gateway (bounded, in slices); previews are for people who edit.
  { method: 'POST', path: '/v1/expressions/evaluate', access: 'edit' },
  // Named connections: their settings say where the tenant's systems are and as whom (never a secret:
  // those are never answered); editors see them to reference them, only admins change or test them.
  { method: 'GET', path: '/v1/connections', access: 'edit' },
  { method: 'GET', path: '/v1/connections/{name}', access: 'edit' },
  { method: 'POST', path: '/v1/connections', access: 'admin' },
  { method: 'PUT', path: '/v1/connections/{name}', access: 'admin' },
  { method: 'DELETE', path: '/v1/connections/{name}', access: 'admin' },
  { method: 'POST', path: '/v1/connections/{name}/test', access: 'admin' },
  { method: 'GET', path: '/v1/runs', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}/result', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}/lineage', access: 'read' },
  { method: 'GET', path: '/v1/runs/{run_id}/nodes/{node}/input', access: 'read' },
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

/** The one name of a route, shared by routing, permissions and the audit log: `POST /v1/runs/{run_id}/cancel`. */
export function routeKey(method: string, template: string): string {
  return `${method} ${template}`;
}

/** An express path (`/v1/runs/:run_id`) as its table template (`/v1/runs/{run_id}`). */
export function templateOf(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/**
 * The characters a canonical path segment may hold: those of every identifier the gateway
 * accepts (definition, run, node, key and tenant ids) and of the fixed segments. No `%` (no
 * percent-encoding: no identifier needs it), so one path has one spelling only.
 */
const SEGMENT = /^[A-Za-z0-9._:-]+$/;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const compiled = ROUTE_RULES.map((rule) => {
  const names: string[] = [];
  const source = rule.path
    .split(/(\{[a-z_]+\})/)
    .map((part) => {
      const param = /^\{([a-z_]+)\}$/.exec(part);
      if (!param) return escape(part);
      names.push(param[1] ?? '');
      return '([^/]+)';
    })
    .join('');
  return {
    rule,
    names,
    // Case-sensitive and strict, as the express app routes (`case sensitive routing`, `strict routing`).
    pattern: new RegExp(`^${source}$`),
    // Only to recognise another spelling of a route (`/V1/KEYS`), which is refused, never served.
    loose: new RegExp(`^${source}$`, 'i'),
  };
});

const byKey = new Map(ROUTE_RULES.map((rule) => [routeKey(rule.method, rule.path), rule]));

/** The rule of exactly this route (method and template), as the express app registers it. */
export function ruleOf(method: string, template: string): RouteRule | undefined {
  return byKey.get(routeKey(method, template));
}

/**
 * The rule of a request; `HEAD` is answered like `GET`. Undefined for paths no route serves.
 * Matches exactly as the express app routes: case-sensitively, without a trailing slash.
 */
export function ruleFor(method: string, path: string): RouteRule | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  return compiled.find(({ rule, pattern }) => rule.method === wanted && pattern.test(path))?.rule;
}

/** The path parameters of `path` under `rule`'s template (`{ run_id: "r1" }`); empty when it does not match. */
export function paramsOf(rule: RouteRule, path: string): Record<string, string> {
  const entry = compiled.find((c) => c.rule === rule);
  const match = entry?.pattern.exec(path);
  if (!entry || !match) return {};
  return Object.fromEntries(entry.names.map((name, i) => [name, decodeColons(match[i + 1] ?? '')]));
}

/**
 * `%3A` as `:`: the one percent-encoding a canonical path may hold, since `encodeURIComponent`
 * writes the `:` of run ids (`weft-nightly-0-2026-01-31T09:00:00Z`) so. No fixed segment of a
 * route holds `:`, so this never makes another spelling of a route.
 */
function decodeColons(segment: string): string {
  return segment.replace(/%3[Aa]/g, ':');
}

/**
 * Why `path` (the raw request path, before any decoding) is not the one canonical spelling of a
 * route, or undefined when it is. Not canonical: anything but `/` and segments of the characters
 * above (so no percent-encoding, `%2F` and `%76` included, but for `%3A`), an empty segment (`//`, a trailing
 * slash), a dot segment (`.`, `..`), or another letter case of a route's fixed segments.
 */
export function nonCanonical(path: string): string | undefined {
  if (path === '/') return undefined;
  if (!path.startsWith('/')) return 'the path must start with "/"';
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '')) return 'the path has an empty segment ("//" or a trailing "/")';
  if (segments.some((s) => s === '.' || s === '..')) return 'the path has a "." or ".." segment';
  const decoded = segments.map(decodeColons);
  if (decoded.some((s) => s.includes('%')))
    return 'the path is percent-encoded (no route or identifier needs it, but for ":" as %3A)';
  if (!decoded.every((s) => SEGMENT.test(s))) return 'the path has characters no route or identifier uses';
  if (!compiled.some(({ pattern }) => pattern.test(path)) && compiled.some(({ loose }) => loose.test(path)))
    return "the path spells a route's fixed segments in another letter case (paths are case-sensitive)";
  return undefined;
}
