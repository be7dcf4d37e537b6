/**
 * Named connections in the activity, through a real Temporal worker: connections sealed into a
 * real (SQLite) definition store, opened by the worker's store-backed source. The http
 * connection's base URL and headers reach a real local HTTP server (and its secret header is
 * masked in what comes back); the redis connection's database is the one written to (checked
 * with a client of its own); a rotated connection is used from the next call on; another
 * tenant's run finds no connection of that name. An ai connection's endpoint is under the egress
 * policy (a fake OpenAI server not allowed is never reached), and a rotated key is the next call's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { connect as natsConnect } from '@nats-io/transport-node';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { seal } from '../../src/connections/connection-crypto.js';
import { storeConnectionSource } from '../../src/connections/connection-source.js';
import { SqliteDefinitionStore } from '../../src/store/sqlite-store.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { egressEntry } from '../support/egress.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import type { CallOutcome } from '../support/test-workflows.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';

const REDIS = process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS = process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222';
const KEY = randomBytes(32);
const MARKER = `tok${randomBytes(8).toString('hex')}`;

let dir: string;
let store: SqliteDefinitionStore;
let target: HttpTarget;
let worker: ActivityWorker;
/** Allowed by the worker's egress entries. */
let llm: FakeOpenAi;
/** Not allowed: a connection to it must never reach it. */
let refusedLlm: FakeOpenAi;
const redis = createClient({ url: REDIS });

async function put(
  tenant: string,
  name: string,
  connector: string,
  settings: Record<string, unknown>,
  secrets: Record<string, unknown>,
) {
  const existing = await store.connections.get(tenant, name);
  const version = (existing?.version ?? 0) + 1;
  const sealed = seal(KEY, { tenant, name, connector, version }, secrets);
  const next = { settings, sealed_secrets: sealed, secret_fields: Object.keys(secrets) };
  if (existing) assert.ok(await store.connections.replace(tenant, name, existing.version, next, 'test'));
  else assert.ok(await store.connections.create(tenant, { name, connector, ...next }, 'test'));
}

function call(connector: string, action: string, connection: string, params: Record<string, unknown>, tenant?: string) {
  return worker.call('runConnector', { connector, action, connection, params }, { maximumAttempts: 1 }, tenant);
}

function output(outcome: CallOutcome): any {
  if (!outcome.ok) throw new Error(`${outcome.error.type}: ${outcome.error.message}`);
  return (outcome.value as { output: unknown }).output;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-connections-'));
  store = new SqliteDefinitionStore(join(dir, 'definitions.db'));
  target = await startHttpTarget({
    '/api/echo': (req, res) =>
      json(res, 200, { path: req.path, authorization: req.headers.authorization, accept: req.headers.accept }),
  });
  await redis.connect();
  llm = await startFakeOpenAi();
  refusedLlm = await startFakeOpenAi();
  const port = new URL(target.url).port;
  worker = await startActivityWorker({
    registry: new ConnectorRegistry({
      env: {
        WEFT_EGRESS_ALLOW: `${egressEntry(REDIS)},${egressEntry(NATS)},127.0.0.1:${port},127.0.0.1:${new URL(llm.url).port}`,
      },
    }),
    connections: storeConnectionSource(store.connections, KEY),
  });
});

after(async () => {
  await worker?.shutdown();
  await target?.close();
  await llm?.close();
  await refusedLlm?.close();
  await redis.quit();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('named connections in the activity', () => {
  test("http: the connection's base URL and headers reach the server; the secret header is masked in the output", async () => {
    await put(
      'default',
      'api',
      'http',
      { base_url: `${target.url}/api`, headers: { accept: 'application/json' } },
      { headers: { authorization: `Bearer ${MARKER}` } },
    );
    const answer = output(await call('http', 'request', 'api', { url: '/echo', headers: {} }));
    assert.equal(answer.status, 200);
    const seen = target.requests.find((r) => r.path === '/api/echo');
    assert.equal(seen?.headers.authorization, `Bearer ${MARKER}`, 'the secret header was sent');
    assert.equal(seen?.headers.accept, 'application/json');
    assert.equal(answer.body.path, '/api/echo');
    assert.equal(answer.body.authorization, '***', 'the echoed secret is masked');
    assert.ok(!JSON.stringify(answer).includes(MARKER));

    // The connection's credentials go to its own origin only.
    const elsewhere = await call('http', 'request', 'api', { url: 'http://127.0.0.2:9/x' });
    assert.equal(elsewhere.ok, false);
    if (!elsewhere.ok) {
      assert.equal(elsewhere.error.type, 'InvalidParams');
      assert.match(elsewhere.error.message, /expected a path or a URL of http:\/\/127\.0\.0\.1/);
    }
  });

  test("redis: the connection's database is the one written; a rotation moves the next call to the new one", async () => {
    const key = `weft-conn-${randomBytes(4).toString('hex')}`;
    const { hostname, port } = new URL(REDIS);
    await put('default', 'cache', 'redis', { host: hostname, port: Number(port || 6379), db: 3, tls: false }, {});
    assert.deepEqual(output(await call('redis', 'set', 'cache', { key, value: 'three' })), { ok: true });
    const db3 = redis.duplicate();
    await db3.connect();
    try {
      await db3.select(3);
      assert.equal(await db3.get(key), '"three"');
      assert.equal(await redis.get(key), null, 'not in database 0');
      await put('default', 'cache', 'redis', { host: hostname, port: Number(port || 6379), db: 4, tls: false }, {});
      assert.deepEqual(output(await call('redis', 'set', 'cache', { key, value: 'four' })), { ok: true });
      assert.equal(await db3.get(key), '"three"', 'the rotated connection no longer writes to database 3');
      await db3.select(4);
      assert.equal(await db3.get(key), '"four"');
      await db3.del(key);
      await db3.select(3);
      await db3.del(key);
    } finally {
      await db3.quit();
    }
  });

  test("nats: the connection's servers carry the message (a subscriber of its own sees it)", async () => {
    const subject = `weft.conn.${randomBytes(4).toString('hex')}`;
    const listener = await natsConnect({ servers: NATS });
    try {
      const subscription = listener.subscribe(subject, { max: 1 });
      await listener.flush();
      await put('default', 'bus', 'nats', { servers: [egressEntry(NATS)], tls: false }, {});
      const got = (async () => {
        for await (const message of subscription) return message.string();
        return undefined;
      })();
      assert.deepEqual(output(await call('nats', 'publish', 'bus', { subject, data: { n: 1 } })), { published: true });
      assert.equal(await got, '{"n":1}');
    } finally {
      await listener.close();
    }
  });

  test("another tenant's run, and a connection of another connector, fail ConnectionNotFound naming it", async () => {
    const crossed = await call('http', 'request', 'api', { url: '/echo' }, 'other-tenant');
    assert.equal(crossed.ok, false);
    if (!crossed.ok) {
      assert.equal(crossed.error.type, 'ConnectionNotFound');
      assert.match(crossed.error.message, /connection "api" not found/);
      assert.equal(crossed.error.nonRetryable, true);
    }
    const wrong = await call('redis', 'get', 'api', { key: 'k' });
    assert.equal(wrong.ok, false);
    if (!wrong.ok)
      assert.match(wrong.error.message, /connection "api" is a http connection, not one of connector "redis"/);
  });

  test("ai: the endpoint is under the egress policy; a rotated key is the next call's", async () => {
    const ask = () =>
      worker.call(
        'runAi',
        { node: 'n', model: 'gpt-4o-mini', prompt: 'hi', connection: 'llm' },
        { maximumAttempts: 1 },
      );
    await put('default', 'llm', 'ai', { base_url: refusedLlm.url }, { api_key: refusedLlm.apiKey });
    const refused = await ask();
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.error.type, 'EgressDenied', refused.error.message);
      assert.ok(!refused.error.message.includes(refusedLlm.apiKey));
    }
    assert.deepEqual(refusedLlm.requests, [], 'the refused endpoint was never reached');

    await put('default', 'llm', 'ai', { base_url: llm.url }, { api_key: `${MARKER}-old` });
    llm.enqueue({ content: 'unused' });
    const wrongKey = await ask();
    assert.equal(wrongKey.ok, false);
    if (!wrongKey.ok) {
      assert.equal(wrongKey.error.type, 'ModelError');
      assert.match(wrongKey.error.message, /via connection "llm" answered 401/);
      assert.ok(!wrongKey.error.message.includes(MARKER), wrongKey.error.message);
    }
    await put('default', 'llm', 'ai', { base_url: llm.url, organization: 'org-7' }, { api_key: llm.apiKey });
    const answered = await ask();
    assert.equal(answered.ok, true, JSON.stringify(answered));
    assert.equal((answered.ok && (answered.value as { output: unknown }).output) || undefined, 'unused');
    assert.deepEqual(
      llm.requests.map((r) => [r.headers.authorization, r.headers['openai-organization']]),
      [
        [`Bearer ${MARKER}-old`, undefined],
        [`Bearer ${llm.apiKey}`, 'org-7'],
      ],
    );
  });

  test('a connector failure names the connection and its target, never the secret', async () => {
    await put('default', 'nowhere', 'redis', { host: '127.0.0.1', port: 1, db: 0, tls: false }, { password: MARKER });
    const failed = await call('redis', 'get', 'nowhere', { key: 'k' });
    assert.equal(failed.ok, false);
    if (!failed.ok) {
      assert.match(failed.error.message, /^redis .*via connection "nowhere"/);
      assert.ok(!failed.error.message.includes(MARKER), failed.error.message);
    }
  });
});
