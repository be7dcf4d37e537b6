/**
 * The `redis` connector through a real Temporal worker against the local Redis: JSON values,
 * TTLs, counters, error replies and an unreachable server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { egressEntry } from '../support/egress.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { unique } from '../support/temporal.js';
import type { CallOutcome } from '../support/test-workflows.js';
import { pause } from '../support/poll.js';

const SERVER = process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = unique('weft-test');
const redis = createClient({ url: SERVER });
let worker: ActivityWorker;
let unreachable: ActivityWorker;

before(async () => {
  await redis.connect();
  worker = await startActivityWorker({
    registry: new ConnectorRegistry({ env: { WEFT_REDIS_URL: SERVER, WEFT_EGRESS_ALLOW: egressEntry(SERVER) } }),
  });
  unreachable = await startActivityWorker({
    registry: new ConnectorRegistry({ env: { REDIS_URL: 'redis://127.0.0.1:1', WEFT_EGRESS_ALLOW: '127.0.0.1:1' } }),
  });
});

after(async () => {
  await worker?.shutdown();
  await unreachable?.shutdown();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(keys);
  redis.destroy();
});

function redisCall(action: string, params: unknown, maximumAttempts = 1, on = worker): Promise<CallOutcome> {
  return on.call('runConnector', { connector: 'redis', action, params }, { maximumAttempts });
}

async function ok(action: string, params: unknown): Promise<any> {
  const outcome = await redisCall(action, params);
  if (!outcome.ok) throw new Error(`${outcome.error.type}: ${outcome.error.message}`);
  return (outcome.value as { output: unknown }).output;
}

function failure(outcome: CallOutcome) {
  if (outcome.ok) throw new Error('expected the call to fail');
  return { ...outcome.error, attempt: (outcome.error.details[0] as { attempt: number }).attempt };
}

describe('redis connector', () => {
  test('set then get returns the same JSON value; a missing key is { found: false, value: null }', async () => {
    const key = `${prefix}:customer`;
    assert.deepEqual(await ok('set', { key, value: { name: 'Ada', tags: ['a'], n: 1.5 } }), { ok: true });
    assert.equal(await redis.get(key), '{"name":"Ada","tags":["a"],"n":1.5}');
    assert.deepEqual(await ok('get', { key }), { found: true, value: { name: 'Ada', tags: ['a'], n: 1.5 } });
    assert.deepEqual(await ok('get', { key: `${prefix}:missing` }), { found: false, value: null });

    await redis.set(`${prefix}:foreign`, 'not json');
    assert.deepEqual(await ok('get', { key: `${prefix}:foreign` }), { found: true, value: 'not json' });
  });

  test('set with a ttl duration expires the key', async () => {
    const key = `${prefix}:session`;
    await ok('set', { key, value: 'x', ttl: '30s' });
    const ttl = await redis.pTTL(key);
    assert.ok(ttl > 29_000 && ttl <= 30_000, `pttl ${ttl}`);
    await ok('set', { key: `${prefix}:brief`, value: 1, ttl: 150 });
    await pause(300, 'past the 150 ms ttl (a poll would also pass a ttl set too long)');
    assert.deepEqual(await ok('get', { key: `${prefix}:brief` }), { found: false, value: null });
  });

  test('incr counts by 1 or by; its ttl starts with the first increment and is not extended', async () => {
    const key = `${prefix}:hits`;
    assert.deepEqual(await ok('incr', { key }), { value: 1 });
    assert.deepEqual(await ok('incr', { key, by: 5 }), { value: 6 });
    assert.equal(await redis.pTTL(key), -1);

    const window = `${prefix}:window`;
    assert.deepEqual(await ok('incr', { key: window, ttl: '1m' }), { value: 1 });
    await redis.pExpire(window, 10_000);
    assert.deepEqual(await ok('incr', { key: window, by: 2, ttl: '1m' }), { value: 3 });
    assert.ok((await redis.pTTL(window)) <= 10_000, 'the second incr must not reset the window');
  });

  test('an error reply is a non-retryable RedisError; a bad ttl or no value is InvalidParams', async () => {
    const key = `${prefix}:text`;
    await ok('set', { key, value: 'words' });
    const error = failure(await redisCall('incr', { key }, 3));
    assert.equal(error.type, 'RedisError');
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /not an integer/);

    const ttl = failure(await redisCall('set', { key, value: 1, ttl: 'soon' }, 3));
    assert.equal(ttl.type, 'InvalidParams');
    assert.match(ttl.message, /ttl: expected a duration/);

    const missing = failure(await redisCall('set', { key }, 3));
    assert.equal(missing.type, 'InvalidParams');
    assert.match(missing.message, /value: expected a value/);
  });

  test('an unreachable server is a retryable ConnectionError (REDIS_URL is read too)', async () => {
    const error = failure(await redisCall('get', { key: 'k' }, 2, unreachable));
    assert.equal(error.type, 'ConnectionError');
    assert.equal(error.nonRetryable, false);
    assert.equal(error.attempt, 2);
    assert.match(error.message, /ECONNREFUSED/);
  });
});
