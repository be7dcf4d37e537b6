/**
 * Every route of the served OpenAPI document × every caller (each role's API key, a JWT with no
 * weft role, no credentials) × other spellings of its path (letter case of each fixed segment,
 * percent-encoded letters and slashes, a trailing slash, doubled slashes, `.` and `..`
 * segments), sent byte for byte with `node:http`. No spelling reaches a handler: each is refused
 * with the gateway's 404 before authentication, or (when it happens to be the canonical path of
 * another route) gets that route's permission check. The canonical spellings get exactly the
 * permission check of their route, and every mutating request, refused or not, is in the audit
 * log; no spelled request created a key, tenant or definition.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { issueApiKey } from '../../src/auth/api-keys.js';
import { permits, ROLES, type Permission, type Role } from '../../src/auth/roles.js';
import { ROUTE_RULES } from '../../src/auth/route-permissions.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import type { DefinitionStore } from '../../src/store/definition-store.js';
import { bearer, createKey } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { bounded, rawClient, type RawClient, type RawResponse } from '../support/raw-http.js';

type Caller = Role | 'jwt-no-role' | 'anonymous';
const CALLERS: readonly Caller[] = [...ROLES, 'jwt-no-role', 'anonymous'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/** Requests in flight at once: enough to finish in seconds, few enough for a loaded 2-core machine. */
const CONCURRENCY = 12;

interface Route {
  method: string;
  template: string;
}

/** A concrete path of a template: versions are "1", other parameters `<prefix>-<name>`. */
function concrete(template: string, prefix: string): string {
  return template.replace(/\{([a-z_]+)\}/g, (_m, name: string) =>
    name === 'version' || name === 'a' || name === 'b' ? '1' : `${prefix}-${name.replace(/_/g, '-')}`,
  );
}

const alternating = (text: string) =>
  [...text].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');

/** Other spellings of `path` (of `template`), each with what it tries. */
function spellings(template: string, path: string): Array<{ kind: string; path: string }> {
  const segments = path.slice(1).split('/');
  const fixed = template
    .slice(1)
    .split('/')
    .map((s) => !s.startsWith('{'));
  const join = (parts: string[]) => `/${parts.join('/')}`;
  const out: Array<{ kind: string; path: string }> = [];
  const replaced = (i: number, value: string) => join(segments.map((s, j) => (j === i ? value : s)));
  segments.forEach((segment, i) => {
    if (!fixed[i]) return;
    const letter = segment.search(/[a-z]/);
    if (letter < 0) return;
    out.push({ kind: `segment ${i} upper case`, path: replaced(i, segment.toUpperCase()) });
    out.push({ kind: `segment ${i} capitalised`, path: replaced(i, segment[0]?.toUpperCase() + segment.slice(1)) });
    out.push({ kind: `segment ${i} mixed case`, path: replaced(i, alternating(segment)) });
    const hex = segment.charCodeAt(letter).toString(16);
    const encoded = (h: string) => `${segment.slice(0, letter)}%${h}${segment.slice(letter + 1)}`;
    out.push({ kind: `segment ${i} letter percent-encoded`, path: replaced(i, encoded(hex.toUpperCase())) });
    out.push({ kind: `segment ${i} letter percent-encoded (lower hex)`, path: replaced(i, encoded(hex)) });
  });
  out.push({ kind: 'all upper case', path: path.toUpperCase() });
  for (let i = 1; i < segments.length; i++) {
    const head = segments.slice(0, i).join('/');
    const tail = segments.slice(i).join('/');
    out.push({ kind: `slash ${i} as %2F`, path: `/${head}%2F${tail}` });
    out.push({ kind: `slash ${i} as %2f`, path: `/${head}%2f${tail}` });
    out.push({ kind: `slash ${i} doubled`, path: `/${head}//${tail}` });
    out.push({ kind: `"." segment before ${i}`, path: `/${head}/./${tail}` });
    out.push({ kind: `".." segment before ${i}`, path: `/${head}/x/../${tail}` });
    out.push({ kind: `"%2e" segment before ${i}`, path: `/${head}/%2e/${tail}` });
  }
  out.push({ kind: 'trailing slash', path: `${path}/` });
  out.push({ kind: 'leading double slash', path: `/${path}` });
  out.push({ kind: 'leading "." segment', path: `/.${path}` });
  return out.filter((s) => s.path !== path);
}

describe('route spelling: every route × caller × spelling', () => {
  let jwks: HttpTarget;
  let stack: TestStack;
  let store: DefinitionStore;
  let client: RawClient;
  let routes: Route[];
  const credentials = new Map<Caller, Record<string, string>>();

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' };
    jwks = await startHttpTarget({ '/jwks': (_req, res) => json(res, 200, { keys: [jwk] }) });
    stack = await startTestStack({
      worker: false,
      env: {
        WEFT_JWKS_URL: `${jwks.url}/jwks`,
        WEFT_JWT_ISSUER: 'https://idp.test/',
        WEFT_JWT_AUDIENCE: 'weft',
        // So the codec routes are served and documented too.
        WEFT_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      },
    });
    // With a JWKS there is no local-development mode: the first admin key comes from the store.
    store = await openDefinitionStore(stack.config.databaseUrl);
    const { key: admin } = await issueApiKey(
      store.access,
      { name: 'spelling-admin', roles: ['admin'], tenant: 'default' },
      'test',
    );
    credentials.set('admin', bearer(admin));
    for (const role of ROLES.filter((r) => r !== 'admin'))
      credentials.set(role, bearer(await createKey(stack, `spelling-${role}`, [role], { adminKey: admin })));
    const token = await new SignJWT({ sub: 'nobody', tenant: 'default', roles: [] })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer('https://idp.test/')
      .setAudience('weft')
      .setIssuedAt()
      .setExpirationTime('30m')
      .sign(privateKey);
    credentials.set('jwt-no-role', bearer(token));
    credentials.set('anonymous', {});
    client = rawClient(stack.gateway.url);
    const doc = await client.send('GET', '/v1/openapi.json', credentials.get('viewer'));
    assert.equal(doc.status, 200);
    routes = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([template, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((m) => ({ method: m.toUpperCase(), template })),
    );
    assert.ok(routes.length >= 40, `the document lists only ${routes.length} routes`);
    assert.ok(
      routes.some((r) => r.template === '/codec/decode'),
      'the codec routes are documented',
    );
  });

  after(async () => {
    client?.close();
    await store?.close();
    await stack?.close();
    await jwks?.close();
  });

  /** The permission a route needs according to its table entry (undefined: public). */
  const needs = (route: Route): Permission | undefined => {
    const rule = ROUTE_RULES.find((r) => r.method === route.method && r.path === route.template);
    assert.ok(rule, `${route.method} ${route.template} has an access rule`);
    return rule.access === 'public' ? undefined : rule.access === 'signed' ? 'run' : rule.access;
  };
  const holds = (caller: Caller, permission: Permission) =>
    caller !== 'anonymous' && caller !== 'jwt-no-role' && permits([caller], permission);
  const bodyFor = (route: Route, name: string) =>
    route.method === 'GET' || route.method === 'DELETE'
      ? undefined
      : JSON.stringify(route.template === '/v1/keys' ? { name, roles: ['admin'] } : {});
  /** The documented route whose template matches `path` exactly (case-sensitively), if any. */
  const canonicalRoute = (path: string): Route[] =>
    routes.filter((r) =>
      new RegExp(`^${r.template.replace(/[.]/g, '\\.').replace(/\{[a-z_]+\}/g, '[^/]+')}$`).test(path),
    );

  /** What is wrong with the answer a caller got for a path that is not `route`'s canonical spelling. */
  function spelledProblem(route: Route, path: string, caller: Caller, response: RawResponse): string | undefined {
    // The refusal of a non-canonical path: before authentication, for every caller, never routed.
    if (
      response.status === 404 &&
      response.body?.error?.code === 'not_found' &&
      /^no route .*Paths are case-sensitive/.test(response.body?.error?.message ?? '')
    )
      return undefined;
    const other = canonicalRoute(path);
    if (other.length === 0)
      return `answered ${response.status} ${response.text.slice(0, 200)}, not the refusal of a non-canonical path`;
    // A spelling that is another route's path (`GET /v1/definitions/spelled-id%2Fstats` has the
    // shape of `GET /v1/definitions/{id}`) may be served as that route, with that route's check.
    const same = other.find((r) => r.method === route.method);
    if (same) {
      const needed = needs(same);
      if (needed !== undefined && !holds(caller, needed) && response.status !== 401 && response.status !== 403)
        return `answered ${response.status}, as if allowed to ${same.method} ${same.template}`;
      return undefined;
    }
    // The path of routes of other methods only: an unknown route, after authentication.
    const refused =
      caller === 'anonymous'
        ? response.status === 401
        : response.status === 404 && /^no route /.test(response.body?.error?.message ?? '');
    return refused ? undefined : `answered ${response.status} ${response.text.slice(0, 200)}`;
  }

  test('no other spelling of a route reaches a handler, for any caller', async () => {
    const cases = routes.flatMap((route) =>
      spellings(route.template, concrete(route.template, 'spelled')).flatMap((spelling) =>
        CALLERS.map((caller) => ({ route, spelling, caller })),
      ),
    );
    assert.ok(cases.length > 5_000, `only ${cases.length} cases`);
    let n = 0;
    const problems = (
      await bounded(cases, CONCURRENCY, async ({ route, spelling, caller }) => {
        const response = await client.send(
          route.method,
          spelling.path,
          credentials.get(caller),
          bodyFor(route, `spelled-${n++}`),
        );
        const problem = spelledProblem(route, spelling.path, caller, response);
        return problem && `${caller} ${route.method} ${spelling.path} (${spelling.kind}): ${problem}`;
      })
    ).filter((p): p is string => p !== undefined);
    assert.deepEqual(problems.slice(0, 25), [], `${problems.length} spellings were not refused`);

    // Nothing any spelling asked for happened.
    const keys = await store.access.listApiKeys('default');
    assert.deepEqual(
      keys.filter((k) => k.name.startsWith('spelled-')).map((k) => k.name),
      [],
    );
    assert.equal(await store.access.getTenant('spelled-tenant'), undefined);
  });

  test('the canonical path of each route gets exactly its permission check, and every mutation is audited', async () => {
    const cases = routes.flatMap((route) => CALLERS.map((caller) => ({ route, caller })));
    const mutations: Array<{ requestId: string; what: string }> = [];
    const problems = (
      await bounded(cases, CONCURRENCY, async ({ route, caller }) => {
        const requestId = `spelling-${route.method}-${route.template}-${caller}`.replace(/[^A-Za-z0-9._-]/g, '_');
        const path = concrete(route.template, 'canonical');
        const response = await client.send(
          route.method,
          path,
          { ...credentials.get(caller), 'x-request-id': requestId },
          bodyFor(route, `canonical-${caller}`),
        );
        const what = `${caller} ${route.method} ${path}`;
        const audited =
          route.method !== 'GET' &&
          ![
            '/v1/definitions/validate',
            '/v1/definitions/test',
            '/v1/definitions/{id}/what-if',
            '/v1/expressions/evaluate',
            '/codec/encode',
            '/codec/decode',
          ].includes(route.template);
        if (audited) mutations.push({ requestId, what });
        const needed = needs(route);
        if (needed === undefined)
          return response.status === 401 || response.status === 403
            ? `${what}: public, yet ${response.status}`
            : undefined;
        if (caller === 'anonymous') return response.status === 401 ? undefined : `${what}: ${response.status}, not 401`;
        if (!holds(caller, needed)) {
          if (response.status !== 403) return `${what}: ${response.status} ${response.text.slice(0, 200)}, not 403`;
          if (!(response.body?.error?.message ?? '').includes(`needs the "${needed}" permission`))
            return `${what}: ${response.body?.error?.message}`;
          return undefined;
        }
        return response.status === 401 || response.status === 403
          ? `${what}: ${response.status} although allowed`
          : undefined;
      })
    ).filter((p): p is string => p !== undefined);
    assert.deepEqual(problems, []);

    // GET /v1/audit waits until every entry of a request answered so far is written.
    const audit = await client.send('GET', '/v1/audit?limit=1000', credentials.get('admin'));
    assert.equal(audit.status, 200, audit.text);
    const logged = new Set((audit.body.items as Array<{ request_id: string }>).map((e) => e.request_id));
    assert.ok(mutations.length >= 100, `only ${mutations.length} mutating requests`);
    assert.deepEqual(
      mutations.filter((m) => !logged.has(m.requestId)).map((m) => m.what),
      [],
      'mutating requests missing from the audit log',
    );
  });

  test("a viewer's POST /V1/KEYS asking for an admin key is refused and creates nothing", async () => {
    const response = await client.send(
      'POST',
      '/V1/KEYS',
      credentials.get('viewer'),
      JSON.stringify({ name: 'escalated', roles: ['admin'] }),
    );
    assert.equal(response.status, 404, response.text);
    assert.equal(response.body.error.code, 'not_found');
    assert.equal(response.body.key, undefined);
    assert.equal(
      (await store.access.listApiKeys('default')).find((k) => k.name === 'escalated'),
      undefined,
      'no key was created',
    );
  });
});
