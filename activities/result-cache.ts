/**
 * Result caching for `task` nodes with `cache: { ttl }`: the output of an identical call (same
 * tenant, connector, action and resolved params) is reused within the TTL. Shared by every
 * worker: in Redis when `REDIS_URL` is set, otherwise in a SQLite file under the data dir.
 *
 * The store is reachable by others (the `redis` connector talks to the same Redis by default),
 * so nothing read from it is trusted:
 *
 * - keys are an HMAC of the call under the cache key (`WEFT_CACHE_KEY`, else a random key kept
 *   in the data dir), which no definition can read: nobody without it can name an entry, and
 *   resolved secrets in the params cannot be guessed from the key;
 * - every entry carries an HMAC of its key and content under the same key: an entry written by
 *   anyone else, or copied from another key (another tenant's), is a miss;
 * - with a payload codec (`WEFT_CODEC_KEYS`), entries are encrypted with it, so the store holds
 *   ciphertext only; an entry that fails to decrypt is a miss, never an error.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import { canonicalJson } from '../src/shared/canonical-json.js';

/** One cacheable call. The tenant comes from the run's workflow id, never from the definition. */
export interface CachedCall {
  tenant: string;
  connector: string;
  action: string;
  params: unknown;
}

export interface ResultCache {
  get(call: CachedCall): Promise<{ value: unknown } | undefined>;
  set(call: CachedCall, value: unknown, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Where entries are kept: strings under keys, with an expiry. */
export interface CacheStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** What keeps entries out of reach: the HMAC key, and the codec that encrypts entries (optional). */
export interface CacheProtection {
  /** At least 32 bytes; never handed to connectors (`WEFT_` names are never secrets). */
  key: Buffer;
  codec?: PayloadCodec | undefined;
}

/** The environment variable holding the cache's HMAC key (base64 of at least 32 bytes). */
export const CACHE_KEY_VARIABLE = 'WEFT_CACHE_KEY';
/** The file in the data dir holding a generated key when `WEFT_CACHE_KEY` is not set. */
export const CACHE_KEY_FILE = 'result-cache.key';
const KEY_BYTES = 32;
const PREFIX = 'weft:result:';
const PLAIN = 'w1';
const SEALED = 'w1e';
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function hmac(key: Buffer, ...parts: string[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(`${part.length}:`).update(part);
  return mac.digest();
}

/** The store key of a call: an HMAC, so nobody without the cache key can name (or guess) an entry. */
export function cacheKey(call: CachedCall, key: Buffer): string {
  const { tenant, connector, action, params } = call;
  return `${PREFIX}${hmac(key, 'key', canonicalJson({ tenant, connector, action, params })).toString('hex')}`;
}

interface WireEntry {
  m: Record<string, string>;
  d: string;
}

async function seal(storeKey: string, value: unknown, protection: CacheProtection): Promise<string> {
  const json = JSON.stringify(value ?? null);
  let kind = PLAIN;
  let body = json;
  if (protection.codec) {
    const [encoded] = await protection.codec.encode([
      { metadata: { encoding: utf8.encode('json/plain') }, data: utf8.encode(json) },
    ]);
    if (!encoded) throw new Error('the payload codec returned no payload');
    const wire: WireEntry = {
      m: Object.fromEntries(
        Object.entries(encoded.metadata ?? {}).map(([k, v]) => [
          k,
          Buffer.from(v ?? new Uint8Array()).toString('base64'),
        ]),
      ),
      d: Buffer.from(encoded.data ?? new Uint8Array()).toString('base64'),
    };
    kind = SEALED;
    body = JSON.stringify(wire);
  }
  const mac = hmac(protection.key, 'entry', storeKey, kind, body).toString('base64url');
  return `${kind}.${mac}.${body}`;
}

/** The value of an entry, or undefined when it is not one this cache wrote under this key. */
async function open(
  storeKey: string,
  raw: string,
  protection: CacheProtection,
): Promise<{ value: unknown } | undefined> {
  const first = raw.indexOf('.');
  const second = first < 0 ? -1 : raw.indexOf('.', first + 1);
  if (second < 0) return undefined;
  const kind = raw.slice(0, first);
  const mac = Buffer.from(raw.slice(first + 1, second), 'base64url');
  const body = raw.slice(second + 1);
  // With a codec, entries in clear (written before it was turned on, or by anyone else) are never used.
  if (kind !== (protection.codec ? SEALED : PLAIN)) return undefined;
  const expected = hmac(protection.key, 'entry', storeKey, kind, body);
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
  try {
    if (!protection.codec) return { value: JSON.parse(body) as unknown };
    const wire = JSON.parse(body) as WireEntry;
    const payload: Payload = {
      metadata: Object.fromEntries(Object.entries(wire.m).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(wire.d, 'base64'),
    };
    const [decoded] = await protection.codec.decode([payload]);
    if (!decoded?.data || fromUtf8.decode(decoded.metadata?.encoding ?? new Uint8Array()) !== 'json/plain') {
      return undefined;
    }
    return { value: JSON.parse(fromUtf8.decode(decoded.data)) as unknown };
  } catch {
    // Unknown codec key, altered ciphertext, bad JSON: a miss, and the connector is called.
    return undefined;
  }
}

/** A result cache over a store, with keys and entries protected as described above. */
export function protectedResultCache(store: CacheStore, protection: CacheProtection): ResultCache {
  if (protection.key.length < KEY_BYTES) {
    throw new Error(`the result cache key must be at least ${KEY_BYTES} bytes, got ${protection.key.length}`);
  }
  return {
    async get(call) {
      const key = cacheKey(call, protection.key);
      const raw = await store.get(key);
      return raw === undefined ? undefined : open(key, raw, protection);
    },
    async set(call, value, ttlMs) {
      const key = cacheKey(call, protection.key);
      await store.set(key, await seal(key, value, protection), ttlMs);
    },
    close: () => store.close(),
  };
}

/**
 * The cache key: `WEFT_CACHE_KEY` (base64 of at least 32 bytes; set the same value on every
 * worker that should share entries), else a random key generated once into
 * `<dataDir>/result-cache.key` (mode 0600), which the workers of one host share.
 */
export function cacheKeyFromEnv(env: NodeJS.ProcessEnv, dataDir: string): Buffer {
  const configured = env[CACHE_KEY_VARIABLE];
  if (configured !== undefined && configured !== '') {
    const trimmed = configured.trim();
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64')
      : Buffer.alloc(0);
    if (key.length < KEY_BYTES) {
      throw new Error(
        `${CACHE_KEY_VARIABLE}: expected base64 of at least ${KEY_BYTES} bytes (e.g. from \`openssl rand -base64 32\`), got ${key.length} bytes`,
      );
    }
    return key;
  }
  const path = join(dataDir, CACHE_KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    // 'wx': of two workers starting at once, one writes and the other reads what it wrote.
    writeFileSync(path, randomBytes(KEY_BYTES).toString('base64'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length < KEY_BYTES) throw new Error(`${path}: expected base64 of at least ${KEY_BYTES} bytes`);
  return key;
}

export function sqliteCacheStore(path: string): CacheStore {
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
      return Promise.resolve(row.value);
    },
    set(key, value, ttlMs) {
      purge.run(Date.now());
      write.run(key, value, Date.now() + ttlMs);
      return Promise.resolve();
    },
    close() {
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}

export function redisCacheStore(url: string): CacheStore {
  const client = createClient({ url });
  let connected: Promise<unknown> | undefined;
  const ready = () => (connected ??= client.connect());
  return {
    async get(key) {
      await ready();
      return (await client.get(key)) ?? undefined;
    },
    async set(key, value, ttlMs) {
      await ready();
      await client.set(key, value, { PX: Math.max(1, Math.round(ttlMs)) });
    },
    async close() {
      if (connected) await client.quit().catch(() => undefined);
    },
  };
}

/** A SQLite result cache; the key defaults to the one kept next to the database file. */
export function sqliteResultCache(path: string, protection?: Partial<CacheProtection>): ResultCache {
  return protectedResultCache(sqliteCacheStore(path), {
    key: protection?.key ?? cacheKeyFromEnv({}, dirname(path)),
    codec: protection?.codec,
  });
}

/** A Redis result cache; `protection.key` is required (see `cacheKeyFromEnv`). */
export function redisResultCache(url: string, protection: CacheProtection): ResultCache {
  return protectedResultCache(redisCacheStore(url), protection);
}

/**
 * Redis when `REDIS_URL` is set (or `WEFT_CACHE_REDIS_URL`, to keep the cache in a Redis or
 * database of its own), else SQLite under `WEFT_DATA_DIR`. Opened on first use; a bad
 * `WEFT_CACHE_KEY` fails the first cached call with an error naming it.
 */
export function resultCacheFromEnv(env: NodeJS.ProcessEnv = process.env, codec?: PayloadCodec): ResultCache {
  let cache: ResultCache | undefined;
  const dataDir = env.WEFT_DATA_DIR || 'data';
  const open = () => {
    if (cache) return cache;
    const protection = { key: cacheKeyFromEnv(env, dataDir), codec };
    const redisUrl = env.WEFT_CACHE_REDIS_URL || env.REDIS_URL;
    cache = redisUrl
      ? redisResultCache(redisUrl, protection)
      : sqliteResultCache(join(dataDir, 'result-cache.db'), protection);
    return cache;
  };
  return {
    get: (call) => open().get(call),
    set: (call, value, ttlMs) => open().set(call, value, ttlMs),
    close: () => cache?.close() ?? Promise.resolve(),
  };
}
