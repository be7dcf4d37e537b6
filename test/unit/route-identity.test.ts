/**
 * The one route identity: which raw paths are canonical, how a request finds its rule, and that
 * the app refuses to register a route the table does not know.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import express from 'express';
import { nonCanonical, paramsOf, ruleFor, ruleOf } from '../../src/auth/route-permissions.js';
import { guarded } from '../../src/gateway/app.js';
import { MemoryReplayGuard, sign, signedHeaders, verifySignature } from '../../src/gateway/webhook-signature.js';

test('canonical paths: one spelling per route', () => {
  for (const path of [
    '/',
    '/v1/keys',
    '/v1/runs/Run.1_a:b-c',
    '/v1/runs/weft-nightly-0-2026-01-31T09%3A00%3A00Z',
    '/docs/assets/swagger-ui.css',
    '/v1/no-such-thing',
  ])
    assert.equal(nonCanonical(path), undefined, path);
  for (const [path, reason] of [
    ['/V1/KEYS', /letter case/],
    ['/v1/Keys', /letter case/],
    ['/v1/runs/x/CANCEL', /letter case/],
    ['/v1/%6Beys', /percent-encoded/],
    ['/v1/runs/a%2Fb/cancel', /percent-encoded/],
    ['/v1/runs/a%2fb', /percent-encoded/],
    ['/v1/keys/', /empty segment/],
    ['/v1//keys', /empty segment/],
    ['//v1/keys', /empty segment/],
    ['/v1/./keys', /"\." or "\.\."/],
    ['/v1/x/../keys', /"\." or "\.\."/],
    ['/v1/runs/a b', /characters/],
    ['/v1/runs/a@b', /characters/],
    ['*', /start with/],
  ] as const)
    assert.match(nonCanonical(path) ?? 'canonical', reason, path);
});

test('a request finds its rule exactly as express routes it', () => {
  assert.equal(ruleFor('POST', '/v1/keys')?.access, 'admin');
  assert.equal(ruleFor('POST', '/V1/KEYS'), undefined);
  assert.equal(ruleFor('POST', '/v1/keys/'), undefined);
  assert.equal(ruleFor('HEAD', '/v1/runs/r1')?.path, '/v1/runs/{run_id}');
  const rule = ruleOf('POST', '/v1/runs/{run_id}/approvals/{node}');
  assert.ok(rule);
  assert.deepEqual(paramsOf(rule, '/v1/runs/a%3Ab/approvals/gate'), { run_id: 'a:b', node: 'gate' });
});

test('the app refuses a route the table has no rule for, and guards those it has', async () => {
  const root = express();
  // As if authentication had let a viewer through (the global check is bypassed here).
  root.use((req, _res, next) => {
    req.identity = { actor: 'key:v', tenant: 'default', roles: ['viewer'], via: 'api_key' };
    next();
  });
  const app = guarded(root);
  assert.throws(() => app.post('/v1/keys/:key_id/rotate', (_req, res) => res.end()), /has no entry in ROUTE_RULES/);
  let reached = 0;
  app.post('/v1/keys', (_req, res) => {
    reached++;
    res.status(201).end();
  });
  app.get('/v1/whoami', (_req, res) => {
    reached++;
    res.json({});
  });
  assert.equal(app.get('x-powered-by'), true, 'a setting is still read with app.get(name)');
  const server = root.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const refused = await fetch(`http://127.0.0.1:${port}/v1/keys`, { method: 'POST' });
    assert.equal(refused.status, 403);
    assert.equal(reached, 0, 'the handler of a route the viewer may not use did not run');
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/whoami`)).status, 200);
    assert.equal(reached, 1);
  } finally {
    server.close();
  }
});

test('webhook signatures cover the timestamp; the replay guard accepts each once', () => {
  const body = Buffer.from('{"a":1}');
  const now = 1_800_000_000;
  const headers = signedHeaders(body, 's', now);
  const check = (over: Partial<Parameters<typeof verifySignature>[0]>) =>
    verifySignature({
      body,
      signature: headers['x-signature'],
      timestamp: headers['x-signature-timestamp'],
      secrets: ['s'],
      now,
      acceptBodyOnly: false,
      ...over,
    });
  assert.equal(check({}).ok, true);
  assert.deepEqual(check({ now: now + 301 }), { ok: false, reason: 'timestamp' });
  assert.deepEqual(check({ now: now - 301 }), { ok: false, reason: 'timestamp' });
  assert.equal(check({ now: now + 300 }).ok, true);
  assert.deepEqual(check({ timestamp: String(now + 1) }), { ok: false, reason: 'signature' });
  assert.deepEqual(check({ secrets: ['other'] }), { ok: false, reason: 'signature' });
  assert.deepEqual(check({ signature: sign(body, 's'), timestamp: undefined }), { ok: false, reason: 'body_only' });
  assert.equal(check({ signature: sign(body, 's'), timestamp: undefined, acceptBodyOnly: true }).ok, true);

  const guard = new MemoryReplayGuard(2);
  assert.equal(guard.claim('a', now + 300, now), true);
  assert.equal(guard.claim('a', now + 300, now + 10), false);
  assert.equal(guard.claim('a', now + 600, now + 301), true, 'an expired claim can be made again');
  guard.release('a');
  assert.equal(guard.claim('a', now + 300, now), true, 'a released claim can be made again');
  assert.equal(guard.claim('b', now + 300, now), true);
  assert.equal(guard.claim('c', now + 300, now), true, 'full: the oldest claim makes room');
  assert.equal(guard.claim('c', now + 300, now), false);
});
