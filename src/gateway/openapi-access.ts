/**
 * The OpenAPI side of access control: the key, tenant, whoami, history and publish-approval
 * operations, and, on every operation, the permission it needs (`x-weft-permission`, from the
 * route table), the bearer security requirement and its 401/403 answers.
 */
import { z } from 'zod';
import { ROUTE_RULES } from '../auth/route-permissions.js';
import { CreateKeyBody, PutTenantBody } from './access-routes.js';
import { PublishApproval } from './publishing-routes.js';

type Operation = Record<string, unknown>;
type Paths = Record<string, Record<string, Operation>>;

const ref = (kind: 'responses' | 'schemas', name: string) => ({ $ref: `#/components/${kind}/${name}` });
/** A required string path parameter. */
export const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const described = (description: string) => ({ description });

function zodBody(schema: z.ZodType) {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: 'input' });
  return { requestBody: { required: true, content: { 'application/json': { schema: json } } } };
}

function operation(summary: string, responses: Record<string, unknown>, extra: Operation = {}): Operation {
  return { summary, ...extra, responses: { ...responses, '503': ref('responses', 'Unavailable') } };
}

const badBody = { '400': ref('responses', 'BadRequest') };

export function accessPaths(): Paths {
  const id = pathParam('id', 'definition id');
  return {
    '/v1/whoami': {
      get: operation('The caller: actor, tenant, roles, permissions, and whether authentication is required', {
        '200': described('`{ "actor", "tenant", "roles", "permissions", "via", "authentication" }`'),
      }),
    },
    '/v1/keys': {
      post: operation(
        'Create an API key (shown once, in this answer; only its hash is kept)',
        {
          '201': described('`{ "id", "name", "tenant", "roles", "created_at", "created_by", "key" }`'),
          '404': ref('responses', 'NotFound'),
          '409': ref('responses', 'Conflict'),
          ...badBody,
        },
        {
          description:
            "In the caller's tenant unless `tenant` is given (admins of the default tenant only). The first key ends local-development mode.",
          ...zodBody(CreateKeyBody),
        },
      ),
      get: operation("List the tenant's API keys (admins of the default tenant: all), never the keys themselves", {
        '200': described(
          '`{ "items": [ { "id", "name", "tenant", "roles", "created_at", "created_by", "revoked_at"? } ] }`',
        ),
      }),
    },
    '/v1/keys/{key_id}': {
      delete: operation(
        'Revoke an API key',
        {
          '200': described('`{ "id", "revoked": true }`'),
          '404': ref('responses', 'NotFound'),
          '409': ref('responses', 'Conflict'),
        },
        { parameters: [pathParam('key_id', 'the key id (the part after `wk_`)')] },
      ),
    },
    '/v1/tenants': {
      get: operation('List tenants (admins of another tenant see their own)', {
        '200': described(
          '`{ "items": [ { "id", "namespace"?, "task_queue"?, "four_eyes", "created_at", "created_by" } ] }`',
        ),
      }),
    },
    '/v1/tenants/{tenant}': {
      get: operation(
        'A tenant and its settings',
        { '200': described('the tenant'), '404': ref('responses', 'NotFound') },
        { parameters: [pathParam('tenant', 'tenant id')] },
      ),
      put: operation(
        'Create a tenant or change its settings: namespace, task queue and quotas (admins of the default tenant), four-eyes publishing',
        { '200': described('updated'), '201': described('created'), ...badBody },
        { parameters: [pathParam('tenant', 'tenant id')], ...zodBody(PutTenantBody) },
      ),
    },
    '/v1/definitions/{id}/history': {
      get: operation(
        'Change history: who submitted, activated, approved or rejected which version; submits carry their diff',
        {
          '200': described('`{ "items": [ { "at", "actor", "action", "version", "comment"?, "diff"? } ] }`'),
          '404': ref('responses', 'NotFound'),
        },
        { parameters: [id] },
      ),
    },
    '/v1/definitions/{id}/versions/{version}/approvals': {
      post: operation(
        "Approve or reject a version (never its author's own); with four-eyes publishing an approval activates it",
        {
          '200': described('`{ "id", "version", "approved", "active_version" }`'),
          '404': ref('responses', 'NotFound'),
          ...badBody,
        },
        { parameters: [id, pathParam('version', 'version such as "3"')], ...zodBody(PublishApproval) },
      ),
    },
  };
}

/** Adds each operation's permission, security requirement and 401/403 answers. */
export function withAccess(paths: Paths): Paths {
  const access = new Map(ROUTE_RULES.map((rule) => [`${rule.method} ${rule.path}`, rule.access]));
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, op]) => {
          const needed = access.get(`${method.toUpperCase()} ${path}`) ?? 'admin';
          if (needed === 'public') return [method, { ...op, security: [] }];
          return [
            method,
            {
              ...op,
              'x-weft-permission': needed === 'signed' ? 'run (or a valid webhook signature)' : needed,
              responses: {
                ...(op.responses as object),
                '401': ref('responses', 'Unauthorized'),
                '403': ref('responses', 'Forbidden'),
              },
            },
          ];
        }),
      ),
    ]),
  );
}

/** The security scheme: API keys and JWTs both travel as bearer tokens. */
export const securitySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (`wk_…`, created with `POST /v1/keys`) or, when `WEFT_JWKS_URL` is set, a JWT. `X-API-Key` also carries a key.',
  },
};
