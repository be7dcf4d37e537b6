/**
 * Result caching for `task` nodes with `cache: { ttl }`: the output of an identical call (same
 * connector, action and resolved params) is reused within the TTL. Shared by every worker: in
 * Redis when `REDIS_URL` is set, otherwise in a SQLite file under the data dir.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import { canonicalJson } from '../src/store/definition-store.js';

export interface ResultCache {
  get(key: string): Promise<{ value: unknown } | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The cache key of a call: a hash, so resolved secret values never appear in the store. Another
 * tenant's identical call never shares an entry (the default tenant's keys are as they were).
 */
export function cacheKey(connector: string, action: string, params: unknown, tenant = 'default'): string {
  const call = tenant === 'default' ? { connector, action, params } : { connector, action, params, tenant };
  return `weft:result:${createHash('sha256').update(canonicalJson(call)).digest('hex')}`;
}

export function sqliteResultCache(path: string): ResultCache {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL)',
  );
  const read = db.prepare('SELECT value, expires_at FROM results WHERE key = ?');
  const write = db.prepare('INSERT OR REPLACE INTO results (key, value, expires_at) VALUES (?, ?, ?)');
  const purge = db.prepare('DELETE FROM results WHERE expires_at <= ?');
  return {
    get(key) {
      const row = read.get(key) as { value: string; expires_at: number } | undefined;
      if (!row || row.expires_at <= Date.now()) return Promise.resolve(undefined);
      return Promise.resolve({ value: JSON.parse(row.value) as unknown });
    },
    set(key, value, ttlMs) {
      purge.run(Date.now());
      write.run(key, JSON.stringify(value ?? null), Date.now() + ttlMs);
      return Promise.resolve();
    },
    close() {
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}

export function redisResultCache(url: string): ResultCache {
  const client = createClient({ url });
  let connected: Promise<unknown> | undefined;
  const ready = () => (connected ??= client.connect());
  return {
    async get(key) {
      await ready();
      const raw = await client.get(key);
      return raw === null ? undefined : { value: JSON.parse(raw) as unknown };
    },
    async set(key, value, ttlMs) {
      await ready();
      await client.set(key, JSON.stringify(value ?? null), { PX: Math.max(1, Math.round(ttlMs)) });
    },
    async close() {
      if (connected) await client.quit().catch(() => undefined);
    },
  };
}

/** Redis when `REDIS_URL` is set, else SQLite under `WEFT_DATA_DIR`. Opened on first use. */
export function resultCacheFromEnv(env: NodeJS.ProcessEnv = process.env): ResultCache {
  let cache: ResultCache | undefined;
  const open = () =>
    (cache ??= env.REDIS_URL
      ? redisResultCache(env.REDIS_URL)
      : sqliteResultCache(join(env.WEFT_DATA_DIR ?? 'data', 'result-cache.db')));
  return {
    get: (key) => open().get(key),
    set: (key, value, ttlMs) => open().set(key, value, ttlMs),
    close: () => cache?.close() ?? Promise.resolve(),
  };
}
