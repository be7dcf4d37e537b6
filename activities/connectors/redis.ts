/**
 * The built-in `redis` connector, on one node-redis client per worker (`WEFT_REDIS_URL`, then
 * `REDIS_URL`). Values are stored JSON-encoded so that what a run sets is what it gets back.
 * - `get` `{ key }` → `{ found, value }` (`value` is `null` when the key does not exist)
 * - `set` `{ key, value, ttl? }` → `{ ok: true }`
 * - `incr` `{ key, by?, ttl? }` → `{ value }`; `ttl` is set only when the key has none yet, so
 *   a counter window starts with its first increment (needs Redis 7 for `PEXPIRE … NX`).
 */
import { ErrorReply, createClient } from 'redis';
import { z } from 'zod';
import { parseDuration } from '../../interpreter/duration.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { describeTarget, pinnedHost } from '../egress.js';
import { checkResponseSize, defineAction, defineConnector, type ConnectorEnv } from './connector.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function redisUrl(env: ConnectorEnv): URL {
  const text = env.WEFT_REDIS_URL ?? env.REDIS_URL ?? DEFAULT_REDIS_URL;
  try {
    const url = new URL(text);
    if ((url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname) return url;
  } catch {
    // reported below
  }
  throw nonRetryableFailure(
    ErrorTypes.NotConfigured,
    'redis: WEFT_REDIS_URL must be a redis:// or rediss:// URL with a host',
  );
}

const Key = z.string().min(1, 'expected a key');
const Ttl = z
  .union([z.number(), z.string()])
  .refine((v) => (parseDuration(v) ?? 0) >= 1, 'expected a duration of at least 1 ms, such as "30s"')
  .transform((v) => parseDuration(v) as number);

function createRedisClient(url: string, state: { connected: boolean }) {
  return createClient({
    url,
    // Calls fail at once while disconnected instead of queueing past their activity timeout.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      // Give up on a first connect that fails (the call is retried by Temporal); once
      // connected, reconnect forever with a capped backoff.
      reconnectStrategy: (retries: number, cause: Error) => (state.connected ? Math.min(retries * 100, 2_000) : cause),
    },
  });
}

type RedisClient = ReturnType<typeof createRedisClient>;

function decode(raw: string | null): unknown {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    // Written by someone else, not JSON: still worth returning as text.
    return raw;
  }
}

function toFailure(err: unknown, what: string) {
  const message = err instanceof Error ? err.message : String(err);
  // Error replies (`-ERR …`) are the command's fault; everything else is the connection's.
  if (err instanceof ErrorReply) {
    return nonRetryableFailure(ErrorTypes.RedisError, `redis: ${what}: ${message}`);
  }
  return retryableFailure(ErrorTypes.ConnectionError, `redis: ${what}: ${message}`);
}

async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toFailure(err, what);
  }
}

export const redisConnector = defineConnector<RedisClient>({
  service_type: 'redis',
  targets(env) {
    const url = redisUrl(env);
    return [{ host: url.hostname, port: Number(url.port || 6379) }];
  },
  describe(env) {
    const url = redisUrl(env);
    const database = /^\/\d+$/.test(url.pathname) ? url.pathname : '';
    return `${describeTarget(url.hostname, Number(url.port || 6379))}${database}`;
  },
  async connect(env, [pinned]) {
    const state = { connected: false };
    const url = redisUrl(env);
    // Connect to the checked address; with TLS (rediss://) the name stays, for the certificate check.
    if (pinned && url.protocol === 'redis:') url.hostname = pinnedHost(pinned);
    const client = createRedisClient(url.toString(), state);
    // Without a listener an 'error' event (a dropped connection) would crash the worker.
    client.on('error', () => undefined);
    await client.connect();
    state.connected = true;
    return client;
  },
  disconnect: (client) => client.close(),
  actions: {
    get: defineAction({
      params: z.strictObject({ key: Key }),
      async execute(client, { key }, ctx) {
        const raw = await call(`GET ${key}`, () => client.get(key));
        checkResponseSize(raw, ctx.maxResponseBytes, `redis: GET ${key}`);
        return { found: raw !== null, value: decode(raw) };
      },
    }),
    set: defineAction({
      params: z.strictObject({
        key: Key,
        value: z.unknown().refine((v) => v !== undefined, 'expected a value (null is one)'),
        ttl: Ttl.optional(),
      }),
      async execute(client, { key, value, ttl }) {
        const encoded = JSON.stringify(value);
        await call(`SET ${key}`, () =>
          ttl === undefined
            ? client.set(key, encoded)
            : client.set(key, encoded, { expiration: { type: 'PX', value: ttl } }),
        );
        return { ok: true };
      },
    }),
    incr: defineAction({
      params: z.strictObject({ key: Key, by: z.number().int().default(1), ttl: Ttl.optional() }),
      async execute(client, { key, by, ttl }) {
        if (ttl === undefined) return { value: await call(`INCRBY ${key}`, () => client.incrBy(key, by)) };
        const [value] = await call(`INCRBY ${key}`, () =>
          client.multi().incrBy(key, by).pExpire(key, ttl, 'NX').exec(),
        );
        return { value: Number(value) };
      },
    }),
  },
});
