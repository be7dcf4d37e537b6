/**
 * `cache: { ttl }` on a task node: an identical call within the TTL reuses the result (the
 * connector is not called; the node says `cached`), in Redis and in the embedded SQLite store
 * alike; a different call, or the same one after the TTL, calls the connector again.
 *
 * Isolation: two tenants making the identical call never share an entry; an entry another
 * tenant's `redis` connector overwrote (or anyone altered in the store) is a miss, never
 * `cached: true`; with the payload codec the store holds only ciphertext.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import {
  redisResultCache,
  sqliteResultCache,
  type CacheProtection,
  type ResultCache,
} from '../../activities/result-cache.js';
import { AesGcmCodec } from '../../src/codec/aes-gcm-codec.js';
import type { RunningWorker } from '../../src/worker/create-worker.js';
import { allowEgress, egressEntry } from '../support/egress.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runState, startRun, versioned } from '../support/runs.js';
import { connectClient, startTestWorker, unique } from '../support/temporal.js';
import { pause } from '../support/poll.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cache-'));
const MARKER = `MARKER-${randomBytes(8).toString('hex')}`;
const REDIS_URL = process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const stores: Array<[string, () => ResultCache]> = [
  ['sqlite', () => sqliteResultCache(join(dir, 'cache.db'))],
  ['redis', () => redisResultCache(REDIS_URL, { key: randomBytes(32) })],
];
let target: HttpTarget;
let client: Client;
let connection: Connection;

before(async () => {
  target = await startHttpTarget({
    '/rate': (req, res) => json(res, 200, { currency: req.query.c, rate: 1.1 }),
    // A marker in the answer: in clear it is in the store; with the codec it must not be.
    '/iso': (req, res) => json(res, 200, { currency: req.query.c, rate: 1.1, marker: MARKER }),
  });
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
      await pause(800, 'past the 500 ms TTL (a poll would also pass a TTL that is too long)');
      const later = await startRun(client, taskQueue, definition('GBP', '500ms'));
      await later.result();
      assert.equal(calls() - before, 2);
      assert.equal((await runState(later)).nodes.rate?.cached, undefined);
    });
  });
}

/** Starts a run as the gateway would for `tenant`: the workflow id says whose run it is. */
function startTenantRun(tenant: string, taskQueue: string, raw: unknown): Promise<WorkflowHandle> {
  const definition = versioned(raw);
  return client.workflow.start('interpret', {
    taskQueue,
    workflowId: `${tenant}/${unique(definition.id)}`,
    args: [{ definition, input: {} }],
  });
}

/** Every entry key in a store, so a test can find the one a run just wrote (as a scanning attacker would). */
interface Inspector {
  keys(): Promise<string[]>;
  raw(key: string): Promise<string | undefined>;
  /** Writes raw bytes under a key, as anyone with access to the store can. */
  write(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

function sqliteInspector(path: string): Inspector {
  const db = new Database(path);
  return {
    keys: () =>
      Promise.resolve((db.prepare('SELECT key FROM results').all() as Array<{ key: string }>).map((r) => r.key)),
    raw: (key) =>
      Promise.resolve(
        (db.prepare('SELECT value FROM results WHERE key = ?').get(key) as { value: string } | undefined)?.value,
      ),
    write: (key, value) => {
      db.prepare('UPDATE results SET value = ? WHERE key = ?').run(value, key);
      return Promise.resolve();
    },
    close: () => Promise.resolve(void db.close()),
  };
}

async function redisInspector(): Promise<Inspector> {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  return {
    keys: async () => {
      const found: string[] = [];
      for await (const batch of redis.scanIterator({ MATCH: 'weft:result:*', COUNT: 1000 })) found.push(...batch);
      return found;
    },
    raw: async (key) => (await redis.get(key)) ?? undefined,
    write: async (key, value) => void (await redis.set(key, value, { PX: 60_000 })),
    close: async () => void (await redis.quit()),
  };
}

const newKeys = async (inspector: Inspector, before: string[]) => {
  const known = new Set(before);
  return (await inspector.keys()).filter((k) => !known.has(k));
};

const isolationStores: Array<
  [string, (protection: CacheProtection) => { cache: ResultCache; store: () => Promise<Inspector> }]
> = [
  [
    'sqlite',
    (protection) => {
      const path = join(dir, `isolation-${randomBytes(4).toString('hex')}.db`);
      const cache = sqliteResultCache(path, protection);
      return { cache, store: () => Promise.resolve(sqliteInspector(path)) };
    },
  ],
  ['redis', (protection) => ({ cache: redisResultCache(REDIS_URL, protection), store: redisInspector })],
];

for (const [name, open] of isolationStores) {
  for (const encrypted of [false, true]) {
    describe(`result cache isolation (${name}${encrypted ? ', with the payload codec' : ''})`, () => {
      let worker: RunningWorker;
      let cache: ResultCache;
      let inspector: Inspector;
      const taskQueue = unique(`cache-iso-${name}`);
      const salt = unique('salt');
      before(async () => {
        const protection: CacheProtection = {
          key: randomBytes(32),
          ...(encrypted ? { codec: new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }]) } : {}),
        };
        const opened = open(protection);
        cache = opened.cache;
        worker = await startTestWorker(taskQueue, { activityDeps: { cache } });
        inspector = await opened.store();
      });
      after(async () => {
        await worker?.shutdown();
        await cache?.close();
        await inspector?.close();
      });

      const call = (currency: string) => ({
        id: 'rates',
        nodes: [
          {
            id: 'rate',
            type: 'task',
            connector: 'http',
            action: 'request',
            output: 'rate',
            cache: { ttl: '1m' },
            inputs: { url: `${target.url}/iso`, query: { c: currency, salt } },
          },
        ],
      });
      const calls = (currency: string) =>
        target.requests.filter((r) => r.query.salt === salt && r.query.c === currency).length;

      test('two tenants making the identical call do not share an entry', async () => {
        await (await startTenantRun('acme', taskQueue, call('CHF'))).result();
        const other = await startTenantRun('globex', taskQueue, call('CHF'));
        await other.result();
        assert.equal(calls('CHF'), 2);
        assert.equal((await runState(other)).nodes.rate?.cached, undefined);
        // Each tenant's second call is its own hit.
        const again = await startTenantRun('globex', taskQueue, call('CHF'));
        await again.result();
        assert.equal((await runState(again)).nodes.rate?.cached, true);
        assert.equal(calls('CHF'), 2);
      });

      test("another tenant's redis connector overwriting an entry cannot make a run return cached: true", async () => {
        const before = await inspector.keys();
        await (await startTenantRun('victim', taskQueue, call('EUR'))).result();
        const [victimKey] = await newKeys(inspector, before);
        assert.ok(victimKey, 'the run wrote an entry');
        const forged = { status: 200, headers: {}, body: { currency: 'EUR', rate: 999, forged: true } };
        if (name === 'redis') {
          // The attacker's own run, through the redis connector, writes the victim's entry: the
          // operator allowed that tenant's connectors to reach the very Redis the cache uses.
          const revoke = allowEgress(egressEntry(REDIS_URL));
          try {
            const attack = await startTenantRun('attacker', taskQueue, {
              id: 'poison',
              nodes: [
                {
                  id: 'poison',
                  type: 'task',
                  connector: 'redis',
                  action: 'set',
                  inputs: { key: victimKey, value: forged },
                },
              ],
            });
            await attack.result();
            assert.equal(
              await inspector.raw(victimKey),
              JSON.stringify(forged),
              'the connector did overwrite the entry',
            );
          } finally {
            revoke();
          }
        } else {
          await inspector.write(victimKey, JSON.stringify(forged));
        }
        const later = await startTenantRun('victim', taskQueue, call('EUR'));
        const result = (await later.result()) as { rate: { body: Record<string, unknown> } };
        assert.equal(result.rate.body.forged, undefined);
        assert.equal(result.rate.body.rate, 1.1);
        assert.equal((await runState(later)).nodes.rate?.cached, undefined);
        assert.equal(calls('EUR'), 2);
      });

      test("an entry copied from another tenant's key is a miss", async () => {
        const before = await inspector.keys();
        await (await startTenantRun('acme', taskQueue, call('JPY'))).result();
        const [acmeKey] = await newKeys(inspector, before);
        const middle = await inspector.keys();
        await (await startTenantRun('globex', taskQueue, call('JPY'))).result();
        const [globexKey] = await newKeys(inspector, middle);
        assert.ok(acmeKey && globexKey && acmeKey !== globexKey);
        const acmeEntry = await inspector.raw(acmeKey);
        assert.ok(acmeEntry);
        await inspector.write(globexKey, acmeEntry);
        const later = await startTenantRun('globex', taskQueue, call('JPY'));
        await later.result();
        assert.equal((await runState(later)).nodes.rate?.cached, undefined);
        assert.equal(calls('JPY'), 3);
      });

      test(
        encrypted
          ? 'entries are ciphertext in the store, and still hits'
          : 'entries in clear without the codec (the scan finds markers)',
        async () => {
          const before = await inspector.keys();
          await (await startTenantRun('acme', taskQueue, call('SEK'))).result();
          const [key] = await newKeys(inspector, before);
          assert.ok(key);
          const raw = (await inspector.raw(key)) ?? '';
          assert.equal(raw.includes(MARKER), !encrypted, raw.slice(0, 200));
          assert.equal(raw.includes('SEK'), !encrypted);
          const later = await startTenantRun('acme', taskQueue, call('SEK'));
          await later.result();
          assert.equal((await runState(later)).nodes.rate?.cached, true);
          if (encrypted) {
            // Altered ciphertext (a flipped character inside it) is a miss, not an error.
            const middle = raw.length - 10;
            await inspector.write(
              key,
              raw.slice(0, middle) + (raw[middle] === 'A' ? 'B' : 'A') + raw.slice(middle + 1),
            );
            const altered = await startTenantRun('acme', taskQueue, call('SEK'));
            await altered.result();
            assert.equal((await runState(altered)).nodes.rate?.cached, undefined);
            assert.equal(calls('SEK'), 2);
          }
        },
      );
    });
  }
}
