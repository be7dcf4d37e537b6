/**
 * Who may use the codec endpoint for which namespace: the default tenant's callers for every
 * namespace the gateway serves, another tenant's only for a namespace of its own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { checkCodecNamespace, codecGuard } from '../../src/auth/codec-guard.js';
import { HttpError } from '../../src/shared/http-error.js';

const GATEWAY_NAMESPACE = 'default';
const TENANTS = [
  { id: 'acme', namespace: 'acme-ns' },
  { id: 'globex', namespace: 'globex-ns' },
  // A tenant without a namespace of its own runs in the gateway's.
  { id: 'initech' },
  // A tenant whose namespace is set to the gateway's own shares it with everyone.
  { id: 'umbrella', namespace: GATEWAY_NAMESPACE },
];

/** The error code `checkCodecNamespace` answers with, or `ok`. */
function answer(tenant: string, wanted: string): string {
  try {
    checkCodecNamespace(TENANTS, GATEWAY_NAMESPACE, { tenant }, wanted);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
    assert.ok(err.message.includes(`"${wanted}"`), `the message names the namespace: ${err.message}`);
    return err.code;
  }
}

const CASES: Array<{ tenant: string; wanted: string; expected: string }> = [
  { tenant: 'default', wanted: GATEWAY_NAMESPACE, expected: 'ok' },
  { tenant: 'default', wanted: 'acme-ns', expected: 'ok' },
  { tenant: 'default', wanted: 'nobody-ns', expected: 'not_found' },
  { tenant: 'acme', wanted: 'acme-ns', expected: 'ok' },
  { tenant: 'acme', wanted: 'globex-ns', expected: 'forbidden' },
  { tenant: 'acme', wanted: GATEWAY_NAMESPACE, expected: 'forbidden' },
  { tenant: 'acme', wanted: 'nobody-ns', expected: 'not_found' },
  { tenant: 'initech', wanted: GATEWAY_NAMESPACE, expected: 'forbidden' },
  { tenant: 'umbrella', wanted: GATEWAY_NAMESPACE, expected: 'forbidden' },
  { tenant: 'unknown-tenant', wanted: 'acme-ns', expected: 'forbidden' },
];

for (const { tenant, wanted, expected } of CASES) {
  test(`tenant ${tenant} asking for namespace ${wanted}: ${expected}`, () => {
    assert.equal(answer(tenant, wanted), expected);
  });
}

test('a refused tenant is named in the message', () => {
  assert.throws(
    () => checkCodecNamespace(TENANTS, GATEWAY_NAMESPACE, { tenant: 'acme' }, 'globex-ns'),
    (err: unknown) => err instanceof HttpError && err.status === 403 && err.message.includes('"acme"'),
  );
});

/** Runs the middleware on a request with the given header and identity; resolves with what it passed to `next`. */
async function guarded(header: string | undefined, tenant: string | undefined): Promise<unknown> {
  let listed = 0;
  const guard = codecGuard(
    {
      listTenants: () => {
        listed++;
        return Promise.resolve(TENANTS.map((t) => ({ ...t, four_eyes: false, created_at: '', created_by: '' })));
      },
    },
    GATEWAY_NAMESPACE,
  );
  const req = {
    get: (name: string) => (name.toLowerCase() === 'x-namespace' ? header : undefined),
    identity: tenant === undefined ? undefined : { actor: 'key:test', tenant, roles: [], via: 'api_key' },
  } as unknown as Request;
  const passed = await new Promise<unknown>((resolve) => {
    guard(req, {} as Response, ((err?: unknown) => resolve(err)) as NextFunction);
  });
  if (header === undefined || tenant === undefined) assert.equal(listed, 0, 'no header or identity: no store read');
  return passed;
}

test('the middleware lets a request without X-Namespace or without identity through untouched', async () => {
  assert.equal(await guarded(undefined, 'acme'), undefined);
  assert.equal(await guarded('globex-ns', undefined), undefined);
});

test('the middleware passes the refusal to next, and nothing for an allowed namespace', async () => {
  assert.equal(await guarded('acme-ns', 'acme'), undefined);
  const refused = await guarded('globex-ns', 'acme');
  assert.ok(refused instanceof HttpError && refused.code === 'forbidden', `expected forbidden, got ${String(refused)}`);
  const unknown = await guarded('nobody-ns', 'default');
  assert.ok(unknown instanceof HttpError && unknown.code === 'not_found', `expected not_found, got ${String(unknown)}`);
});
