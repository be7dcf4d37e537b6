/** API keys for end-to-end tests of authentication, roles and tenants. */
import assert from 'node:assert/strict';
import type { Role } from '../../src/auth/roles.js';
import type { TestStack } from './gateway.js';

/** The headers that present `key`. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/**
 * Creates an API key through the gateway: in local-development mode when `adminKey` is omitted
 * (which ends that mode), else as that admin. Returns the key, shown only in this answer.
 */
export async function createKey(
  stack: TestStack,
  name: string,
  roles: Role[],
  options: { adminKey?: string; tenant?: string } = {},
): Promise<string> {
  const response = await stack.call(
    'POST',
    '/v1/keys',
    { name, roles, ...(options.tenant === undefined ? {} : { tenant: options.tenant }) },
    options.adminKey === undefined ? {} : bearer(options.adminKey),
  );
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.key as string;
}

/** Creates (or updates) a tenant as an admin of the default tenant. */
export async function putTenant(
  stack: TestStack,
  adminKey: string,
  id: string,
  settings: { namespace?: string; task_queue?: string; four_eyes?: boolean } = {},
): Promise<void> {
  const response = await stack.call('PUT', `/v1/tenants/${id}`, settings, bearer(adminKey));
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}
