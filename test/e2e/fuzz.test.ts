/**
 * Robustness of the gateway under malformed input: generated bodies (wrong types, missing
 * fields, huge strings, ~10,000-level nesting, non-JSON bytes, wrong content types and
 * encodings) and odd path parameters, sent to every POST/PUT/PATCH route the app registers.
 * No answer may be a 5xx, and every error must have the contract's shape. Seeded, so a
 * failure reproduces; fast-check prints the seed and the shrunk counterexample.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type express from 'express';
import fc from 'fast-check';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const SEED = 20_260_501;
const RUNS_PER_ROUTE = 250;

let stack: TestStack;
let openId: string;
let signedId: string;

const SECRET_NAME = 'WEFT_FUZZ_WEBHOOK_SECRET';

before(async () => {
  process.env[SECRET_NAME] = 'fuzz-secret';
  stack = await startTestStack({ worker: false });
  openId = unique('fuzz-open');
  signedId = unique('fuzz-signed');
  for (const [id, secret] of [
    [openId, undefined],
    [signedId, SECRET_NAME],
  ] as const) {
    const submitted = await stack.call('POST', '/v1/definitions', {
      id,
      variables: [{ name: 'n', type: 'number', required: true }],
      nodes: [{ id: 'a', type: 'set', assign: { n: 'vars.n + 1' } }],
      triggers: [{ type: 'webhook', ...(secret ? { secret } : {}) }],
    });
    assert.equal(submitted.status, 201);
  }
});
after(async () => {
  delete process.env[SECRET_NAME];
  await stack?.close();
});

/** The POST/PUT/PATCH routes of the app, from its router: a new route is fuzzed without edits here. */
function writeRoutes(app: express.Express): Array<{ method: string; path: string }> {
  const layers = (app as unknown as { router: { stack: Array<{ route?: { path: string; methods: object } }> } }).router
    .stack;
  return layers.flatMap(({ route }) =>
    route
      ? Object.keys(route.methods)
          .filter((m) => ['post', 'put', 'patch'].includes(m))
          .map((m) => ({ method: m.toUpperCase(), path: route.path }))
      : [],
  );
}

const deep = (levels: number, open: string, close: string, inner = '1') =>
  open.repeat(levels) + inner + close.repeat(levels);
const HUGE = 'x'.repeat(3 * 1024 * 1024);
const LARGE_JSON = JSON.stringify({
  id: 'big',
  nodes: [{ id: 'a', type: 'set', assign: { x: 'y'.repeat(1_500_000) } }],
});

const validDefinition = {
  id: 'fuzzed',
  variables: [{ name: 'n', type: 'number' }],
  nodes: [{ id: 'a', type: 'set', assign: { n: '1' } }],
  edges: [],
  triggers: [{ type: 'manual' }],
};

/** JSON values of the wrong kind in the right places: a valid shape with fields replaced or removed. */
const mangled = fc
  .tuple(
    fc.constantFrom<Record<string, unknown>>(
      validDefinition,
      { input: { n: 1 }, version: '1', run_id: 'run-1' },
      { version: '1' },
      { n: 1 },
    ),
    fc.dictionary(
      fc.constantFrom(
        'id',
        'nodes',
        'edges',
        'variables',
        'triggers',
        'input',
        'version',
        'run_id',
        'n',
        'options',
        'x',
      ),
      fc.jsonValue(),
    ),
    fc.subarray(['id', 'nodes', 'edges', 'variables', 'triggers', 'input', 'version', 'run_id', 'n']),
  )
  .map(([base, replaced, removed]) => {
    const copy: Record<string, unknown> = { ...base, ...replaced };
    for (const key of removed) delete copy[key];
    return JSON.stringify(copy);
  });

const body = fc.oneof(
  { weight: 4, arbitrary: mangled },
  { weight: 3, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      deep(10_000, '[', ']'),
      deep(10_000, '{"a":', '}'),
      `{"input":${deep(10_000, '{"a":', '}')}}`,
      `{"id":"x","nodes":[{"id":"a","type":"task","connector":"http","action":"request","inputs":${deep(5_000, '{"a":', '}')}}]}`,
      deep(100_000, '[', ']'),
      `"${HUGE}"`,
      LARGE_JSON,
      '',
      '\u0000',
      '{"id": "\\u0000", "nodes": [{}]}',
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {}}}',
    ),
  },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=no-such-charset',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'image/png',
  '',
);

const contentEncoding = fc.constantFrom(
  undefined,
  undefined,
  undefined,
  'gzip',
  'deflate',
  'br',
  'identity',
  'x-bogus',
);

const pathValue = (known: () => string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(null).map(known) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('no-such-definition', 'Bad%20Id', '%00', '%E0%A4%A', 'a'.repeat(300), '..', '%2F'),
    },
  );

function assertContractError(status: number, text: string, what: string): void {
  assert.ok(status < 500, `${what}: answered ${status} ${text.slice(0, 500)}`);
  if (status < 400) return;
  let parsed: any;
  assert.doesNotThrow(() => (parsed = JSON.parse(text)), `${what}: error body is not JSON: ${text.slice(0, 200)}`);
  assert.deepEqual(Object.keys(parsed), ['error'], what);
  const { code, message, details, ...rest } = parsed.error;
  assert.deepEqual(rest, {}, what);
  assert.equal(typeof code, 'string', what);
  assert.equal(typeof message, 'string', what);
  if (details !== undefined) {
    assert.ok(Array.isArray(details), what);
    for (const d of details) {
      assert.equal(typeof d.path, 'string', what);
      assert.ok(d.path === '' || String(d.path).startsWith('/'), `${what}: ${d.path} is not a JSON Pointer`);
      assert.equal(typeof d.message, 'string', what);
    }
  }
}

describe('fuzz: malformed requests never get a 5xx', () => {
  test('every write route answers generated bodies with 2xx/4xx and the error contract', async () => {
    const routes = writeRoutes(stack.gateway.app);
    assert.ok(routes.length >= 5, JSON.stringify(routes));
    let sent = 0;
    for (const route of routes) {
      const id = () => (route.path.includes('hooks') && sent % 2 === 0 ? signedId : openId);
      const request = fc.record({
        body,
        contentType,
        contentEncoding,
        id: pathValue(id),
        signature: fc.option(fc.constantFrom('sha256=00', 'sha256=' + '0'.repeat(64), 'garbage'), { nil: undefined }),
      });
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const path = route.path.replace(/:[A-Za-z_]+/g, r.id);
          const headers: Record<string, string> = {};
          if (r.contentType) headers['content-type'] = r.contentType;
          if (r.contentEncoding) headers['content-encoding'] = r.contentEncoding;
          if (r.signature) headers['x-signature'] = r.signature;
          const response = await fetch(`${stack.gateway.url}${path}`, { method: route.method, headers, body: r.body });
          sent++;
          assertContractError(response.status, await response.text(), `${route.method} ${path}`);
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE },
      );
    }
    assert.ok(sent >= 1_000, `only ${sent} requests were sent`);
  });

  test('the gateway still answers normally afterwards', async () => {
    assert.equal((await stack.call('GET', '/healthz')).status, 200);
    assert.equal((await stack.call('GET', `/v1/definitions/${openId}`)).status, 200);
  });
});
