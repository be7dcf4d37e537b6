/**
 * Secrets by reference, on the production worker wiring (`startTestWorker`, secrets from the
 * process environment and WEFT_SECRETS_FILE): the value reaches the service, never the workflow
 * history, and is masked in outputs and failures.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createMask } from '../../activities/mask.js';
import { resolveSecrets } from '../../activities/secrets.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { allowEgress } from '../support/egress.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

const TOKEN = `Bearer tok-${randomBytes(8).toString('hex')}`;
const URL_KEY = `k3y/+=${randomBytes(6).toString('hex')}`;
const FILE_SECRET = `from-file-${randomBytes(6).toString('hex')}`;
/** A whole URL as a secret, written so that the URL parser rewrites it (scheme and host case, a space). */
const URL_TOKEN = `t0k ${randomBytes(6).toString('hex')}`;
let closedUrl = '';
let revokeClosedPort = () => {};
const dir = mkdtempSync(join(tmpdir(), 'weft-secrets-'));
let target: HttpTarget;
let worker: RunningWorker;
let client: Client;
let connection: Connection;
const taskQueue = unique('secrets');

before(async () => {
  target = await startHttpTarget({
    '/echo-auth': (req, res) => json(res, 200, { saw: req.headers.authorization, file: req.headers['x-file'] }),
    '/denied': (req, res) => json(res, 401, { error: `key ${req.query.key} is not welcome` }),
  });
  // The worker reads secrets from its environment, as in production.
  process.env.TEST_TOKEN_xyz = TOKEN;
  process.env.TEST_API_KEY = URL_KEY;
  // A port nothing listens on: the call fails with a connection error quoting the URL.
  const closed = await startHttpTarget({});
  const port = new URL(closed.url).port;
  await closed.close();
  // The egress policy refuses loopback; this test's point is the failure the closed port gives.
  revokeClosedPort = allowEgress(`127.0.0.1:${port}`);
  closedUrl = `HTTP://LocalHost:${port}/Api Path?token=${URL_TOKEN}`;
  process.env.TEST_SECRET_URL = closedUrl;
  const file = join(dir, 'secrets.json');
  writeFileSync(file, JSON.stringify({ FILE_SECRET }));
  process.env.WEFT_SECRETS_FILE = file;
  worker = await startTestWorker(taskQueue);
  ({ client, connection } = await connectClient());
});

after(async () => {
  revokeClosedPort();
  await worker?.shutdown();
  await connection?.close();
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(raw: unknown): Promise<WorkflowHandle> {
  const result = validateDefinition(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return client.workflow.start('interpret', {
    taskQueue,
    workflowId: unique(result.definition.id),
    args: [{ definition: { ...result.definition, version: '1' }, input: {} }],
  });
}

/** The whole history as text, payloads decoded, so a leaked value would show. */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const decode = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (Array.isArray(value)) return value.map(decode);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
    }
    return value;
  };
  const text = JSON.stringify(decode(await handle.fetchHistory()));
  // Proves the payloads were decoded: the reference itself is recorded.
  assert.match(text, /secret:TEST_/);
  return text;
}

function task(id: string, inputs: Record<string, unknown>) {
  return { id, type: 'task', connector: 'http', action: 'request', output: id, inputs };
}

describe('secrets', () => {
  test('a secret header reaches the server, and its value is nowhere in the workflow history', async () => {
    const handle = await start({
      id: 'secret-header',
      nodes: [
        task('call', {
          url: `${target.url}/echo-auth`,
          headers: { authorization: 'secret:TEST_TOKEN_xyz', 'x-file': 'secret:FILE_SECRET' },
        }),
      ],
    });
    const result = (await handle.result()) as Record<string, any>;
    const seen = target.requests.find((r) => r.path === '/echo-auth');
    assert.equal(seen?.headers.authorization, TOKEN);
    assert.equal(seen?.headers['x-file'], FILE_SECRET);
    // The server echoed both values back: the output that enters history is masked.
    assert.deepEqual(result.call.body, { saw: '***', file: '***' });

    const history = await historyText(handle);
    assert.ok(!history.includes(TOKEN), 'the token must not be in the history');
    assert.ok(!history.includes(FILE_SECRET), 'the file secret must not be in the history');
  });

  test('a failing call whose error would quote the secret is masked in the failure and the history', async () => {
    const handle = await start({
      id: 'secret-query',
      nodes: [task('call', { url: `${target.url}/denied`, query: { key: 'secret:TEST_API_KEY' } })],
    });
    const err = await handle.result().then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'HttpError');
    assert.match(err.cause.message, /^GET http:\/\/127\.0\.0\.1:\d+\/denied answered 401/);
    assert.equal(target.requests.find((r) => r.path === '/denied')?.query.key, URL_KEY);

    const history = await historyText(handle);
    assert.ok(!history.includes(URL_KEY), 'the key must not be in the history');
    assert.ok(!history.includes(encodeURIComponent(URL_KEY)), 'nor its URL-encoded form');
    assert.match(history, /key \*\*\* is not welcome/);
  });

  test('a secret URL is masked in failure messages in the form the URL parser gave it', async () => {
    const handle = await start({
      id: 'secret-url',
      nodes: [
        { ...task('call', { url: 'secret:TEST_SECRET_URL', query: { page: 2 } }), retry_policy: { max_attempts: 1 } },
      ],
    });
    const err = await handle.result().then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'ConnectionError');
    const history = await historyText(handle);
    const normalized = new URL(closedUrl).href;
    for (const text of [err.cause.message, history]) {
      assert.ok(!text.includes(normalized.split('?')[0] ?? normalized), text.slice(0, 2000));
      assert.ok(!text.includes(encodeURIComponent(URL_TOKEN)) && !text.includes(URL_TOKEN), text.slice(0, 2000));
      assert.ok(!text.toLowerCase().includes('localhost:'), text.slice(0, 2000));
    }
    assert.match(err.cause.message, /\*\*\*/);
  });

  test("a secret variable templated into a URL is masked in the activity's failure (what the worker logs)", async () => {
    const key = `pw-${randomBytes(6).toString('hex')}`;
    const raw = {
      id: 'secret-var-url',
      variables: [{ name: 'key', type: 'string', secret: true }],
      nodes: [
        {
          ...task('call', { url: `${new URL(closedUrl).origin}/v1?key={{ $uppercase(vars.key) }}` }),
          retry_policy: { max_attempts: 1 },
        },
      ],
    };
    const result = validateDefinition(raw);
    assert.ok(result.ok);
    const handle = await client.workflow.start('interpret', {
      taskQueue,
      workflowId: unique('secret-var-url'),
      args: [{ definition: { ...result.definition, version: '1' }, input: { key } }],
    });
    await assert.rejects(handle.result(), WorkflowFailedError);
    const history = await handle.fetchHistory();
    const failed = history.events?.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes;
    const message = failed?.failure?.message ?? '';
    assert.match(message, /failed/, 'the activity failed with a connection error');
    assert.ok(!message.includes(key.toUpperCase()) && !message.includes(key), message);
    assert.match(message, /\*\*\*/);
  });

  test('an unknown secret fails at once with SecretNotFound naming it', async () => {
    const handle = await start({
      id: 'secret-missing',
      nodes: [
        {
          ...task('call', { url: `${target.url}/echo-auth`, headers: { authorization: 'secret:NO_SUCH_SECRET' } }),
          retry_policy: { max_attempts: 3, initial_interval: '100ms' },
        },
      ],
    });
    const err = await handle.result().then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'SecretNotFound');
    assert.match(err.cause.message, /secret "NO_SUCH_SECRET" is not defined/);
    const state = await handle.query<any>('state');
    assert.equal(state.nodes.call.attempts, 1);
  });

  test('only a whole value is a reference: text around "secret:" is sent as it is', async () => {
    const handle = await start({
      id: 'secret-inline',
      nodes: [
        task('call', { url: `${target.url}/echo-auth`, headers: { authorization: 'Token secret:TEST_TOKEN_xyz' } }),
      ],
    });
    const result = (await handle.result()) as Record<string, any>;
    assert.equal(result.call.body.saw, 'Token secret:TEST_TOKEN_xyz');
  });
});

describe('secret resolution and masking', () => {
  test('references are resolved anywhere in the params, and only there', async () => {
    const lookup = (name: string) => Promise.resolve(({ A: 'alpha', B: 'beta' } as Record<string, string>)[name]);
    const resolved = await resolveSecrets(
      { x: 'secret:A', list: ['secret:B', 'secret:A', 'plain', 7], nested: { y: 'secret: A', z: 'xsecret:A' } },
      lookup,
    );
    assert.deepEqual(resolved.value, {
      x: 'alpha',
      list: ['beta', 'alpha', 'plain', 7],
      nested: { y: 'secret: A', z: 'xsecret:A' },
    });
    assert.deepEqual(resolved.secrets.sort(), ['alpha', 'beta']);
  });

  test('a mask hides the value as is, URL-encoded, form-encoded and JSON-escaped, longest first', () => {
    const mask = createMask(['a b/"c', 'short', '']);
    assert.equal(
      mask.text('raw a b/"c, url a%20b%2F%22c, form a+b%2F%22c, json a b/\\"c'),
      'raw ***, url ***, form ***, json ***',
    );
    assert.equal(mask.text('no secrets here'), 'no secrets here');
    assert.deepEqual(mask.value({ k: ['short!', 3], d: null }), { k: ['***!', 3], d: null });
    const failure = mask.failure(
      ApplicationFailure.create({ type: 'T', message: 'got short', details: [{ v: 'short' }] }),
    );
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.message, 'got ***');
    assert.deepEqual(failure.details, [{ v: '***' }]);
    assert.doesNotMatch(failure.stack ?? '', /short/);
  });
});
