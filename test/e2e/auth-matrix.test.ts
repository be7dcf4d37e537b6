/**
 * Every endpoint × every role, through a real gateway: a role without the permission an
 * endpoint needs gets 403, one with it never gets 401/403; without credentials every
 * non-health endpoint answers 401 once keys exist. The route table must cover every route
 * the OpenAPI document lists, so a new endpoint cannot ship unprotected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { permits, ROLES, type Role } from '../../src/auth/roles.js';
import { ROUTE_RULES, ruleFor } from '../../src/auth/route-permissions.js';
import { openApiDocument } from '../../src/gateway/openapi.js';
import { bearer, createKey } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';

/** A concrete path for a template: ids that exist nowhere, so no request changes anything. */
function concrete(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, (_m, name: string) =>
    name === 'version' || name === 'a' || name === 'b' ? '1' : `nothing-${name.replace(/_/g, '-')}`,
  );
}

test('the route table covers every documented route, and nothing else', () => {
  const documented = Object.entries(
    openApiDocument({ codec: true }).paths as Record<string, Record<string, unknown>>,
  ).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
  const missing = documented.filter((route) => {
    const [method, path] = route.split(' ') as [string, string];
    return ruleFor(method, concrete(path)) === undefined;
  });
  assert.deepEqual(missing, [], 'documented routes without an access rule');
  const ruled = ROUTE_RULES.map((r) => `${r.method} ${r.path}`);
  const undocumented = ruled.filter((route) => !documented.includes(route) && route !== 'GET /docs');
  assert.deepEqual(undocumented, [], 'access rules for routes the OpenAPI document does not list');
});

describe('endpoint × role matrix', () => {
  let stack: TestStack;
  const keys = new Map<Role | 'none', string>();

  before(async () => {
    stack = await startTestStack({ worker: false });
    const admin = await createKey(stack, 'matrix-admin', ['admin']);
    keys.set('admin', admin);
    for (const role of ROLES.filter((r) => r !== 'admin'))
      keys.set(role, await createKey(stack, `matrix-${role}`, [role], { adminKey: admin }));
    keys.set('none', await createKey(stack, 'matrix-none-yet', ['viewer'], { adminKey: admin }));
  });

  after(async () => {
    await stack?.close();
  });

  test('without credentials, every non-health endpoint (and unknown paths) answers 401', async () => {
    const refused: string[] = [];
    for (const rule of ROUTE_RULES) {
      const response = await stack.call(rule.method, concrete(rule.path), rule.method === 'GET' ? undefined : {});
      const expected = rule.access === 'public' ? 200 : 401;
      if (rule.access === 'public' ? response.status >= 400 && response.status !== 503 : response.status !== expected)
        refused.push(`${rule.method} ${rule.path} answered ${response.status}`);
      if (rule.access !== 'public')
        assert.equal(response.body?.error?.code, 'unauthorized', `${rule.method} ${rule.path}`);
    }
    assert.deepEqual(refused, []);
    assert.equal((await stack.call('GET', '/v1/no-such-thing')).status, 401);
    const bad = await stack.call('GET', '/v1/definitions', undefined, bearer('wk_0000000000000000_' + 'x'.repeat(43)));
    assert.equal(bad.status, 401);
    assert.match(bad.body.error.message, /not valid/);
  });

  test('each role gets 403 exactly where it lacks the permission', async () => {
    const wrong: string[] = [];
    for (const rule of ROUTE_RULES) {
      if (rule.access === 'public') continue;
      const needed = rule.access === 'signed' ? 'run' : rule.access;
      for (const role of ROLES) {
        const response = await stack.call(
          rule.method,
          concrete(rule.path),
          rule.method === 'GET' || rule.method === 'DELETE' ? undefined : {},
          bearer(keys.get(role) as string),
        );
        const allowed = permits([role], needed);
        const forbidden = response.status === 403;
        if (allowed ? response.status === 401 || forbidden : !forbidden)
          wrong.push(`${role} ${rule.method} ${rule.path}: ${response.status} ${JSON.stringify(response.body?.error)}`);
        if (!allowed) assert.match(response.body.error.message, new RegExp(`needs the "${needed}" permission`));
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('a revoked key is refused, and the audit log names who did what', async () => {
    const admin = keys.get('admin') as string;
    const listed = await stack.call('GET', '/v1/keys', undefined, bearer(admin));
    assert.equal(listed.status, 200);
    const victim = listed.body.items.find((k: { name: string }) => k.name === 'matrix-none-yet');
    assert.equal(victim.key, undefined, 'a listing never shows a key');
    assert.equal(victim.hash, undefined, 'a listing never shows a hash');
    assert.equal((await stack.call('DELETE', `/v1/keys/${victim.id}`, undefined, bearer(admin))).status, 200);
    const refused = await stack.call('GET', '/v1/definitions', undefined, bearer(keys.get('none') as string));
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /revoked/);
    const audit = await stack.call('GET', `/v1/audit?action=key.revoke&target=${victim.id}`, undefined, bearer(admin));
    assert.deepEqual(
      audit.body.items.map((e: { actor: string; target: string; status: number }) => [e.actor, e.target, e.status]),
      [['key:matrix-admin', victim.id, 200]],
    );
    const who = await stack.call('GET', '/v1/whoami', undefined, bearer(keys.get('operator') as string));
    assert.deepEqual(
      [who.body.actor, who.body.tenant, who.body.roles, who.body.permissions, who.body.authentication],
      ['key:matrix-operator', 'default', ['operator'], ['read', 'run'], 'required'],
    );
  });
});
