/**
 * JWT verification against a real JWKS served over HTTP: which tokens pass, what identity they
 * give, and that an unreachable key set is told apart from a bad token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload, type KeyLike } from 'jose';
import {
  JwksUnavailable,
  JwtRejected,
  createJwtVerifier,
  jwtOptionsFromEnv,
  type JwtOptions,
} from '../../src/auth/jwt.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';

const ISSUER = 'https://login.example.test/';
const AUDIENCE = 'weft-gateway';

interface Signer {
  key: KeyLike;
  kid: string;
}

let jwks: HttpTarget;
let published: Signer;
/** Never published. */
let stranger: Signer;
/** Claims the published key's id with a different key. */
let impostor: Signer;
let options: JwtOptions;

before(async () => {
  const pair = await generateKeyPair('ES256');
  published = { key: pair.privateKey, kid: 'key-1' };
  stranger = { key: (await generateKeyPair('ES256')).privateKey, kid: 'key-2' };
  impostor = { key: (await generateKeyPair('ES256')).privateKey, kid: 'key-1' };
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
  jwks = await startHttpTarget({
    '/jwks': (_req, res) => json(res, 200, { keys: [publicJwk] }),
    '/broken': (_req, res) => json(res, 500, { error: 'down for maintenance' }),
    '/html': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    },
  });
  options = {
    jwksUrl: `${jwks.url}/jwks`,
    issuer: ISSUER,
    audience: AUDIENCE,
    rolesClaim: 'roles',
    tenantClaim: 'tenant',
  };
});

after(() => jwks.close());

const now = () => Math.floor(Date.now() / 1000);

/** A token with sensible defaults; `claims` override them (undefined removes one). */
async function token(claims: Record<string, unknown> = {}, signer: Signer = published): Promise<string> {
  const payload: JWTPayload = {
    sub: 'alice',
    tenant: 'acme',
    roles: ['editor'],
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 300,
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: signer.kid }).sign(signer.key);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function rejected(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof JwtRejected, `expected JwtRejected, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('a valid token', () => {
  test('gives the subject as actor, the tenant and the known roles', async () => {
    const verify = createJwtVerifier(options);
    const identity = await verify(await token({ sub: 'alice', roles: ['editor', 'superuser', 'viewer', 'editor'] }));
    assert.deepEqual(identity, { actor: 'jwt:alice', tenant: 'acme', roles: ['editor', 'viewer'] });
  });

  test('accepts roles as a space-separated string', async () => {
    const verify = createJwtVerifier(options);
    const identity = await verify(await token({ roles: 'operator  approver offline_access' }));
    assert.deepEqual(identity.roles, ['operator', 'approver']);
  });

  test('without tenant or roles claims acts in the default tenant with no roles', async () => {
    const verify = createJwtVerifier(options);
    const identity = await verify(await token({ tenant: undefined, roles: undefined }));
    assert.deepEqual(identity, { actor: 'jwt:alice', tenant: 'default', roles: [] });
  });

  test('reads the configured claims', async () => {
    const verify = createJwtVerifier({ ...options, rolesClaim: 'https://weft.example/roles', tenantClaim: 'org' });
    const identity = await verify(
      await token({ roles: ['viewer'], tenant: 'ignored', 'https://weft.example/roles': ['admin'], org: 'team-7' }),
    );
    assert.deepEqual(identity, { actor: 'jwt:alice', tenant: 'team-7', roles: ['admin'] });
  });

  test('needs no issuer or audience check when none is configured', async () => {
    const verify = createJwtVerifier({ jwksUrl: options.jwksUrl, rolesClaim: 'roles', tenantClaim: 'tenant' });
    assert.equal((await verify(await token({ sub: 'bob', iss: undefined, aud: undefined }))).actor, 'jwt:bob');
  });

  test('the key set is fetched once, not per token', async () => {
    const verify = createJwtVerifier(options);
    const before = jwks.count('/jwks');
    for (let i = 0; i < 3; i += 1) await verify(await token({ sub: `user-${i}` }));
    assert.equal(jwks.count('/jwks') - before, 1);
  });
});

describe('a token is rejected', () => {
  test('when it has expired', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({ iat: now() - 600, exp: now() - 120 })), /^the token has expired$/);
  });

  test('when it has no expiry', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({ exp: undefined })), /^the token has no expiry/);
  });

  test('when it is not valid yet', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({ nbf: now() + 600 })), /not valid yet/);
  });

  test('when its issuer is another', async () => {
    const verify = createJwtVerifier(options);
    await rejected(
      verify(await token({ iss: 'https://evil.example.test/' })),
      /^the token's issuer is not https:\/\/login\.example\.test\/$/,
    );
  });

  test('when its audience is another', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({ aud: 'someone-else' })), /^the token's audience is not weft-gateway$/);
  });

  test('when another key signed it under the published key id', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({}, impostor)), /^the token's signature does not verify$/);
  });

  test('when its key is not in the JWKS', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({}, stranger)), /key id "key-2".*is not in the JWKS/);
  });

  test('when it is unsigned (alg none)', async () => {
    const verify = createJwtVerifier(options);
    const payload = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 };
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
    await rejected(verify(unsigned), /algorithm is not allowed/);
  });

  test('when it is signed with a shared secret (HS256)', async () => {
    const verify = createJwtVerifier(options);
    const hmac = await new SignJWT({ sub: 'alice', roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a shared secret of at least thirty-two bytes'));
    await rejected(verify(hmac), /algorithm is not allowed/);
  });

  test('when it has no subject', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({ sub: undefined })), /^the token has no subject$/);
    await rejected(verify(await token({ sub: '' })), /^the token has no subject$/);
  });

  for (const tenant of ['Acme', 'acme corp', '-acme', 'a'.repeat(64), 42, ['acme']]) {
    test(`when its tenant claim is ${JSON.stringify(tenant)}`, async () => {
      const verify = createJwtVerifier(options);
      await rejected(verify(await token({ tenant })), /the token's tenant claim must be a tenant id/);
    });
  }

  test('when its roles claim is neither an array nor a string', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify(await token({ roles: { admin: true } })), /the token's roles claim must be/);
  });

  test('when it is not a JWT at all', async () => {
    const verify = createJwtVerifier(options);
    await rejected(verify('not-a-token'), /^the token is not a valid JWT/);
  });
});

describe('an unusable key set', () => {
  const unavailable = (url: string) => (err: unknown) => {
    assert.ok(err instanceof JwksUnavailable, `expected JwksUnavailable, got ${String(err)}`);
    assert.ok(!(err instanceof JwtRejected), 'an outage must not look like a bad token');
    assert.equal(err.message, `the JWKS at ${url} cannot be fetched`);
    return true;
  };

  test('is JwksUnavailable when nothing listens', async () => {
    const gone = await startHttpTarget({});
    await gone.close();
    const url = `${gone.url}/jwks`;
    await assert.rejects(createJwtVerifier({ ...options, jwksUrl: url })(await token()), unavailable(url));
  });

  test('is JwksUnavailable when the server answers 500', async () => {
    const url = `${jwks.url}/broken`;
    await assert.rejects(createJwtVerifier({ ...options, jwksUrl: url })(await token()), unavailable(url));
  });

  test('is JwksUnavailable when the answer is not a JWKS', async () => {
    const url = `${jwks.url}/html`;
    await assert.rejects(createJwtVerifier({ ...options, jwksUrl: url })(await token()), unavailable(url));
  });
});

describe('jwtOptionsFromEnv', () => {
  test('is off without WEFT_JWKS_URL', () => {
    assert.equal(jwtOptionsFromEnv({}), undefined);
    assert.equal(jwtOptionsFromEnv({ WEFT_JWKS_URL: '', WEFT_JWT_ISSUER: ISSUER }), undefined);
  });

  test('fills in the default claims', () => {
    assert.deepEqual(jwtOptionsFromEnv({ WEFT_JWKS_URL: 'https://login.example.test/.well-known/jwks.json' }), {
      jwksUrl: 'https://login.example.test/.well-known/jwks.json',
      rolesClaim: 'roles',
      tenantClaim: 'tenant',
    });
  });

  test('reads every variable', () => {
    const env = {
      WEFT_JWKS_URL: 'http://127.0.0.1:9000/keys',
      WEFT_JWT_ISSUER: ISSUER,
      WEFT_JWT_AUDIENCE: AUDIENCE,
      WEFT_JWT_ROLES_CLAIM: 'https://weft.example/roles',
      WEFT_JWT_TENANT_CLAIM: 'org',
    };
    assert.deepEqual(jwtOptionsFromEnv(env), {
      jwksUrl: 'http://127.0.0.1:9000/keys',
      issuer: ISSUER,
      audience: AUDIENCE,
      rolesClaim: 'https://weft.example/roles',
      tenantClaim: 'org',
    });
  });

  const bad: Array<{ env: NodeJS.ProcessEnv; message: RegExp }> = [
    {
      env: { WEFT_JWKS_URL: 'login.example.test/jwks' },
      message: /^WEFT_JWKS_URL: expected an absolute http\(s\) URL/,
    },
    { env: { WEFT_JWKS_URL: 'file:///etc/jwks.json' }, message: /^WEFT_JWKS_URL: expected an http or https URL/ },
    {
      env: { WEFT_JWKS_URL: 'https://a.test/jwks', WEFT_JWT_ROLES_CLAIM: ' roles' },
      message: /^WEFT_JWT_ROLES_CLAIM: expected a claim name/,
    },
    {
      env: { WEFT_JWKS_URL: 'https://a.test/jwks', WEFT_JWT_TENANT_CLAIM: 'roles' },
      message: /expected two different claims/,
    },
  ];
  for (const { env, message } of bad) {
    test(`rejects ${JSON.stringify(env)}`, () => {
      assert.throws(() => jwtOptionsFromEnv(env), { message });
    });
  }
});
