/**
 * Webhook signatures, with replay protection. A sender signs the request's time with its body:
 *
 *     X-Signature-Timestamp: <unix seconds>
 *     X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">
 *
 * keyed with the trigger's secret. The gateway refuses a timestamp more than five minutes from
 * its clock, and remembers each accepted signature until its timestamp leaves that window, so
 * the same signed request is accepted once (a sender posting the same body twice within a second
 * puts something unique in it, such as an event id). Signatures are compared in constant time.
 *
 * Signatures of the body alone (no timestamp) are what the HTTP contract names
 * (`X-Signature: sha256=<hex HMAC of the raw body>`), so they are accepted by default, each once
 * within the window; they can be replayed once that window has passed, so an operator whose
 * senders sign timestamps sets `WEFT_WEBHOOK_BODY_ONLY_SIGNATURES=refuse`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createClient } from 'redis';

export const SIGNATURE_HEADER = 'x-signature';
export const TIMESTAMP_HEADER = 'x-signature-timestamp';
/** How far a signed timestamp may be from the gateway's clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 300;

const FORMAT = /^sha256=([0-9a-fA-F]{64})$/;
const TIMESTAMP_FORMAT = /^[0-9]{1,12}$/;

/** The bytes a sender signs: `<timestamp>.<raw body>`, or the body alone without a timestamp. */
function signedBytes(body: Buffer | string, timestamp: string | undefined): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return timestamp === undefined ? bytes : Buffer.concat([Buffer.from(`${timestamp}.`), bytes]);
}

/**
 * The `X-Signature` value a sender computes for `body` signed at `timestamp` (unix seconds);
 * without a timestamp, the body-only signature (refused unless the operator accepts them).
 */
export function sign(body: Buffer | string, secret: string, timestamp?: number | string): string {
  const at = timestamp === undefined ? undefined : String(timestamp);
  return `sha256=${createHmac('sha256', secret).update(signedBytes(body, at)).digest('hex')}`;
}

/** The headers of a request signed now (or at `at`, unix seconds). */
export function signedHeaders(
  body: Buffer | string,
  secret: string,
  at = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return { [TIMESTAMP_HEADER]: String(at), [SIGNATURE_HEADER]: sign(body, secret, at) };
}

export type SignatureVerdict =
  | { ok: true; /** The signature, for the replay guard. */ signature: string; expiresAt: number }
  | { ok: false; reason: 'signature' | 'timestamp' | 'body_only' };

export interface VerifyOptions {
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  secrets: readonly string[];
  /** The gateway's clock, unix seconds. */
  now: number;
  /** `WEFT_WEBHOOK_BODY_ONLY_SIGNATURES=accept`: a signature of the body alone is accepted. */
  acceptBodyOnly: boolean;
}

/**
 * Checks a request's signature against each of `secrets`. The timestamp is checked only once a
 * signature over it matches, so a caller without the secret learns nothing from the answer.
 */
export function verifySignature(options: VerifyOptions): SignatureVerdict {
  const match = FORMAT.exec(options.signature?.trim() ?? '');
  if (!match) return { ok: false, reason: 'signature' };
  const given = Buffer.from(match[1] ?? '', 'hex');
  const timestamp = options.timestamp?.trim();
  if (timestamp !== undefined && !TIMESTAMP_FORMAT.test(timestamp)) return { ok: false, reason: 'signature' };
  const bytes = signedBytes(options.body, timestamp);
  const matches = options.secrets.some((secret) =>
    timingSafeEqual(given, createHmac('sha256', secret).update(bytes).digest()),
  );
  if (!matches) return { ok: false, reason: 'signature' };
  if (timestamp === undefined) {
    if (!options.acceptBodyOnly) return { ok: false, reason: 'body_only' };
    return { ok: true, signature: given.toString('hex'), expiresAt: options.now + SIGNATURE_WINDOW_SECONDS };
  }
  const at = Number(timestamp);
  if (Math.abs(options.now - at) > SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: 'timestamp' };
  return { ok: true, signature: given.toString('hex'), expiresAt: at + SIGNATURE_WINDOW_SECONDS };
}

/**
 * Where accepted signatures are remembered until they expire, so each signed request is
 * accepted once: in the gateway's memory (`MemoryReplayGuard`, the default) or, shared by every
 * gateway and surviving restarts, in Redis (`RedisReplayGuard`, `WEFT_WEBHOOK_NONCE_REDIS_URL`).
 */
export interface ReplayGuard {
  /**
   * Records `key` (a definition's signature) as used until `expiresAt` (unix seconds); false
   * when it was already used and has not expired.
   */
  claim(key: string, expiresAt: number, now: number): boolean | Promise<boolean>;
  /** Forgets a claim (the request that claimed it was not accepted after all). */
  release(key: string): void | Promise<void>;
  close?(): Promise<void>;
}

/** Accepted signatures in the gateway's memory: gateways do not share it (SECURITY.md says so). */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  claim(key: string, expiresAt: number, now: number): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until >= now) return false;
    if (this.seen.size >= this.capacity) this.evict(now);
    this.seen.set(key, expiresAt);
    return true;
  }

  release(key: string): void {
    this.seen.delete(key);
  }

  private evict(now: number): void {
    for (const [key, until] of this.seen) if (until < now) this.seen.delete(key);
    // Still full of live entries: drop the oldest claims (insertion order) to make room.
    for (const key of this.seen.keys()) {
      if (this.seen.size < this.capacity) break;
      this.seen.delete(key);
    }
  }
}

/** The Redis key of a claim: a digest, so no signature or definition id is stored in Redis. */
const nonceKey = (key: string) => `weft:webhook-nonce:${createHash('sha256').update(key).digest('hex')}`;

/**
 * Accepted signatures in Redis (`SET … NX EXAT`), shared by every gateway that points at it and
 * kept across restarts. Redis expires each entry when its timestamp leaves the window. When Redis
 * cannot be reached the claim throws, and the hook answers 503: a replay cannot be ruled out.
 */
export class RedisReplayGuard implements ReplayGuard {
  private readonly client;

  private constructor(url: string) {
    // A reconnect at most every 2 s while Redis is away; meanwhile each request gets a clear 503.
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 5_000, reconnectStrategy: (retries: number) => Math.min(retries * 200, 2_000) },
    });
    this.client.on('error', () => undefined); // reported per request instead
  }

  static async connect(url: string): Promise<RedisReplayGuard> {
    const guard = new RedisReplayGuard(url);
    await guard.client.connect();
    return guard;
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const at = Math.max(expiresAt, now + 1);
    const answer = await this.client.set(nonceKey(key), '1', {
      condition: 'NX',
      expiration: { type: 'EXAT', value: at },
    });
    return answer === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.client.del(nonceKey(key));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
