/**
 * JWTs through a real gateway configured with a JWKS URL: a token signed by the identity
 * provider's key authenticates (actor `jwt:<sub>`, roles and tenant from its claims), a bad or
 * expired one gets 401, and roles still decide what the token may do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { bearer } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';

describe('JWT authentication', () => {
  let jwks: HttpTarget;
  let stack: TestStack;
  let sign: (claims: Record<string, unknown>, expiresIn?: string) => Promise<string>;

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' };
    jwks = await startHttpTarget({ '/jwks': (_req, res) => json(res, 200, { keys: [jwk] }) });
    sign = (claims, expiresIn = '5m') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
        .setIssuer('https://idp.test/')
        .setAudience('weft')
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey);
    stack = await startTestStack({
      worker: false,
      env: { WEFT_JWKS_URL: `${jwks.url}/jwks`, WEFT_JWT_ISSUER: 'https://idp.test/', WEFT_JWT_AUDIENCE: 'weft' },
    });
  });

  after(async () => {
    await stack?.close();
    await jwks?.close();
  });

  test('a valid token is the caller its claims say; a bad one is refused', async () => {
    // With a JWKS configured there is no local-development mode, even before any API key.
    assert.equal((await stack.call('GET', '/v1/definitions')).status, 401);
    const token = await sign({ sub: 'ada', roles: ['operator'], tenant: 'default' });
    const who = await stack.call('GET', '/v1/whoami', undefined, bearer(token));
    assert.equal(who.status, 200, JSON.stringify(who.body));
    assert.deepEqual(
      [who.body.actor, who.body.tenant, who.body.roles, who.body.via],
      ['jwt:ada', 'default', ['operator'], 'jwt'],
    );
    const submit = await stack.call('POST', '/v1/definitions', { id: 'x', nodes: [], edges: [] }, bearer(token));
    assert.equal(submit.status, 403, 'an operator may not submit definitions');

    const expired = await sign({ sub: 'ada', roles: ['admin'] }, '-1m');
    const refused = await stack.call('GET', '/v1/whoami', undefined, bearer(expired));
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /expired/);
    const forged = `${token.slice(0, -4)}AAAA`;
    assert.equal((await stack.call('GET', '/v1/whoami', undefined, bearer(forged))).status, 401);
  });
});
