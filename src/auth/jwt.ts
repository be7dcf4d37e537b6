/**
 * Optional bearer-token authentication: a JWT signed by an identity provider, verified against
 * the provider's JWKS. Only the verification lives here; the middleware decides when to call it
 * and how to answer. Two failures are kept apart on purpose: a bad token (`JwtRejected`, the
 * caller's fault, 401) and a key set we cannot reach (`JwksUnavailable`, ours, 503), so an
 * outage of the identity provider is not reported to callers as bad credentials.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { DEFAULT_TENANT, TENANT_ID_PATTERN } from '../shared/tenants.js';
import { isRole, type Role } from './roles.js';

/** How tokens are checked; from `jwtOptionsFromEnv` or built by hand in tests. */
export interface JwtOptions {
  /** `WEFT_JWKS_URL`: where the provider publishes its public keys. */
  jwksUrl: string;
  /** `WEFT_JWT_ISSUER`: when set, the `iss` claim must equal it. */
  issuer?: string;
  /** `WEFT_JWT_AUDIENCE`: when set, the `aud` claim must contain it. */
  audience?: string;
  /** `WEFT_JWT_ROLES_CLAIM` (default `roles`): an array of role names or a space-separated string. */
  rolesClaim: string;
  /** `WEFT_JWT_TENANT_CLAIM` (default `tenant`): the tenant id; absent means the default tenant. */
  tenantClaim: string;
}

/** Who a verified token speaks for. */
export interface JwtIdentity {
  /** `jwt:<sub>`. */
  actor: string;
  tenant: string;
  /** The token's roles that weft knows; others are dropped. */
  roles: Role[];
}

/** The token is not acceptable; the message says why and is safe to show the caller. */
export class JwtRejected extends Error {
  override name = 'JwtRejected';
}

/**
 * The key set could not be fetched (unreachable, not 200, not a JWKS), so no token can be
 * checked right now. Not a `JwtRejected`: the token may be fine.
 */
export class JwksUnavailable extends Error {
  override name = 'JwksUnavailable';
}

/**
 * Asymmetric algorithms only. `none` and the HMAC family are never accepted: with HS*, anyone
 * holding the (public) JWKS material could be tricked into being a signer.
 */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/**
 * Reads the `WEFT_JWT*` variables. Returns undefined when `WEFT_JWKS_URL` is unset or empty (JWT
 * authentication off); throws naming the variable when a value is unusable.
 */
export function jwtOptionsFromEnv(env: NodeJS.ProcessEnv): JwtOptions | undefined {
  const jwksUrl = env.WEFT_JWKS_URL;
  if (!jwksUrl) return undefined;
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw new Error(`WEFT_JWKS_URL: expected an absolute http(s) URL, got ${JSON.stringify(jwksUrl)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`WEFT_JWKS_URL: expected an http or https URL, got protocol ${url.protocol}`);
  }
  const rolesClaim = claimName(env, 'WEFT_JWT_ROLES_CLAIM', 'roles');
  const tenantClaim = claimName(env, 'WEFT_JWT_TENANT_CLAIM', 'tenant');
  if (rolesClaim === tenantClaim) {
    throw new Error(
      `WEFT_JWT_ROLES_CLAIM and WEFT_JWT_TENANT_CLAIM: expected two different claims, both are "${rolesClaim}"`,
    );
  }
  return {
    jwksUrl: url.href,
    ...(env.WEFT_JWT_ISSUER ? { issuer: env.WEFT_JWT_ISSUER } : {}),
    ...(env.WEFT_JWT_AUDIENCE ? { audience: env.WEFT_JWT_AUDIENCE } : {}),
    rolesClaim,
    tenantClaim,
  };
}

function claimName(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable];
  if (!value) return fallback;
  if (value.trim() !== value) throw new Error(`${variable}: expected a claim name without surrounding spaces`);
  return value;
}

/**
 * Builds a verifier that checks a compact JWT's signature against the JWKS (fetched on first use,
 * cached, refetched when an unknown key id shows up, as jose does by default), its `exp` (required)
 * and `nbf`, and the issuer and audience when configured, then maps its claims to an identity.
 * Throws `JwtRejected` for a bad token and `JwksUnavailable` when the keys cannot be fetched.
 */
export function createJwtVerifier(options: JwtOptions): (token: string) => Promise<JwtIdentity> {
  const remote = createRemoteJWKSet(new URL(options.jwksUrl));
  // Errors from the key lookup are either "no such key" (the token's problem) or a failed
  // fetch (ours); only here, around the lookup, can the two be told apart reliably.
  const keys: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        throw new JwtRejected(
          `several keys in the JWKS at ${options.jwksUrl} match the token's header; it should name one by kid`,
        );
      }
      if (err instanceof errors.JWKSNoMatchingKey) {
        const kid = header.kid === undefined ? 'no key id' : `key id ${JSON.stringify(header.kid)}`;
        throw new JwtRejected(
          `the token's signing key (${kid}, ${header.alg}) is not in the JWKS at ${options.jwksUrl}`,
        );
      }
      if (err instanceof errors.JOSENotSupported) {
        throw new JwtRejected(`the token's signing key cannot be used: ${err.message}`);
      }
      // The reason (refused, 500, not JSON) stays in `cause` for the logs: it may name internal hosts.
      throw new JwksUnavailable(`the JWKS at ${options.jwksUrl} cannot be fetched`, { cause: err });
    }
  };

  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        // A token without an expiry would be a credential for life.
        requiredClaims: ['exp'],
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.audience === undefined ? {} : { audience: options.audience }),
      }));
    } catch (err) {
      if (err instanceof JwtRejected || err instanceof JwksUnavailable) throw err;
      throw rejection(err, options);
    }
    return identityFrom(payload, options);
  };
}

/** Translates jose's errors into messages a caller can act on. */
function rejection(err: unknown, options: JwtOptions): Error {
  if (err instanceof errors.JWTExpired) return new JwtRejected('the token has expired');
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new JwtRejected("the token's signature does not verify");
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new JwtRejected(`the token's algorithm is not allowed: expected one of ${ALGORITHMS.join(', ')}`);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new JwtRejected(`the token's issuer is not ${options.issuer}`);
    if (err.claim === 'aud') return new JwtRejected(`the token's audience is not ${options.audience}`);
    if (err.claim === 'nbf') return new JwtRejected('the token is not valid yet (nbf is in the future)');
    if (err.claim === 'exp') return new JwtRejected('the token has no expiry (exp claim)');
    if (err.claim === 'sub') return new JwtRejected('the token has no subject');
    return new JwtRejected(`the token's ${err.claim} claim is invalid (${err.reason})`);
  }
  if (err instanceof errors.JOSEError) return new JwtRejected(`the token is not a valid JWT: ${err.message}`);
  // Anything else is a bug (ours or the library's), not something to blame on the caller.
  return err instanceof Error ? err : new Error(String(err));
}

function identityFrom(payload: JWTPayload, options: JwtOptions): JwtIdentity {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new JwtRejected('the token has no subject');
  return { actor: `jwt:${payload.sub}`, tenant: tenantOf(payload, options), roles: rolesOf(payload, options) };
}

function tenantOf(payload: JWTPayload, options: JwtOptions): string {
  const tenant = payload[options.tenantClaim];
  if (tenant === undefined) return DEFAULT_TENANT;
  if (typeof tenant !== 'string' || !TENANT_ID_PATTERN.test(tenant)) {
    throw new JwtRejected(
      `the token's ${options.tenantClaim} claim must be a tenant id (lower-case letters, digits and '-', at most 63 characters), got ${JSON.stringify(tenant)}`,
    );
  }
  return tenant;
}

function rolesOf(payload: JWTPayload, options: JwtOptions): Role[] {
  const claim = payload[options.rolesClaim];
  if (claim === undefined) return [];
  let names: unknown[];
  if (typeof claim === 'string') names = claim.split(' ');
  else if (Array.isArray(claim)) names = claim;
  else {
    throw new JwtRejected(
      `the token's ${options.rolesClaim} claim must be an array of role names or a space-separated string`,
    );
  }
  // Providers often put their own roles in the same claim; those mean nothing here.
  return [...new Set(names.filter(isRole))];
}
