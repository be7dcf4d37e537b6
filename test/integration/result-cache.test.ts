/**
 * `cache: { ttl }` on a task node: an identical call within the TTL reuses the result (the
 * connector is not called; the node says `cached`), in Redis and in the embedded SQLite store
 * alike; a different call, or the same one after the TTL, calls the connector again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { redisResultCache, sqliteResultCache, type ResultCache } from '../../activities/result-cache.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cache-'));
const stores: Array<[string, () => ResultCache]> = [
  ['sqlite', () => sqliteResultCache(join(dir, 'cache.db'))],
  ['redis', () => redisResultCache(process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')],
];
let target: HttpTarget;
let client: Client;
let connection: Connection;

before(async () => {
  target = await startHttpTarget({ '/rate': (req, res) => json(res, 200, { currency: req.query.c, rate: 1.1 }) });
  ({ client, connection } = await connectClient());
});
after(async () => {
  await connection?.close();
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const [name, open] of stores) {
  describe(`result cache (${name})`, () => {
    let worker: RunningWorker;
    let cache: ResultCache;
    const taskQueue = unique(`cache-${name}`);
    // A key of this test's own, so reruns and parallel files never share cached results.
    const salt = unique('salt');
    before(async () => {
      cache = open();
      worker = await startTestWorker(taskQueue, { activityDeps: { cache } });
    });
    after(async () => {
      await worker?.shutdown();
      await cache?.close();
    });

    const definition = (currency: string, ttl: string) => ({
      id: 'rates',
      nodes: [
        {
          id: 'rate',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'rate',
          cache: { ttl },
          inputs: { url: `${target.url}/rate`, query: { c: currency, salt } },
        },
      ],
    });
    const calls = () => target.requests.filter((r) => r.query.salt === salt).length;

    test('an identical call within the TTL is served from the cache; another call is not', async () => {
      const first = await startRun(client, taskQueue, definition('EUR', '1m'));
      await first.result();
      const second = await startRun(client, taskQueue, definition('EUR', '1m'));
      const result = (await second.result()) as { rate: { body: unknown } };
      assert.deepEqual(result.rate.body, { currency: 'EUR', rate: 1.1 });
      assert.equal(calls(), 1);
      assert.equal((await runState(first)).nodes.rate?.cached, undefined);
      assert.equal((await runState(second)).nodes.rate?.cached, true);
      await (await startRun(client, taskQueue, definition('USD', '1m'))).result();
      assert.equal(calls(), 2);
    });

    test('after the TTL the connector is called again', async () => {
      const before = calls();
      await (await startRun(client, taskQueue, definition('GBP', '500ms'))).result();
      await new Promise((r) => setTimeout(r, 800));
      const later = await startRun(client, taskQueue, definition('GBP', '500ms'));
      await later.result();
      assert.equal(calls() - before, 2);
      assert.equal((await runState(later)).nodes.rate?.cached, undefined);
    });
  });
}
