/**
 * Per-caller rate limiting: a token bucket per key (an API key id, else the client address),
 * in memory. Each gateway counts on its own, so N gateways behind a balancer allow up to N
 * times the rate; that is the price of needing no shared store on every request.
 */
import type { Request, RequestHandler } from 'express';
import { sendError } from './error-handler.js';
import { HttpError } from '../shared/http-error.js';

/** Probes and scrapes are never limited: an orchestrator must always be able to ask. */
export const UNLIMITED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Enough callers for any real deployment; beyond it the least recently seen are forgotten. */
const DEFAULT_MAX_KEYS = 10_000;

export interface RateLimitOptions {
  /** Requests a caller may make at once (the bucket's size). */
  capacity: number;
  /** Requests added back to the bucket per second. */
  refillPerSecond: number;
  /** Who is calling: requests with the same key share a bucket. */
  keyOf(req: Request): string;
  /** Buckets kept at most (default 10,000). */
  maxKeys?: number;
  /** Monotonic milliseconds; tests may drive it. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Express middleware answering `429 rate_limited` with `Retry-After` (whole seconds) once a
 * caller's bucket is empty.
 */
export function rateLimit(options: RateLimitOptions): RequestHandler {
  const { capacity, refillPerSecond } = options;
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!(capacity >= 1) || !(refillPerSecond > 0) || !(maxKeys >= 1)) {
    throw new Error(
      `rate limit: expected capacity >= 1, refillPerSecond > 0 and maxKeys >= 1, got ${capacity}, ${refillPerSecond} and ${maxKeys}`,
    );
  }
  const now = options.now ?? (() => performance.now());
  /** How long an idle bucket takes to fill up; after that it is the same as no bucket. */
  const idleMs = (capacity / refillPerSecond) * 1000;
  // A Map iterates in insertion order; re-inserting on use keeps the least recently used first.
  const buckets = new Map<string, Bucket>();

  /**
   * Forgets buckets idle long enough to be full again (the same as having none) and, past
   * `maxKeys`, the least recently used even if not full: under a flood of keys, memory wins.
   * Buckets sit in order of last use, so this stops at the first one to keep: O(1) amortised.
   */
  const sweep = (t: number) => {
    for (const [key, bucket] of buckets) {
      if (buckets.size <= maxKeys && t - bucket.at < idleMs) return;
      buckets.delete(key);
    }
  };

  return (req, res, next) => {
    if (UNLIMITED_PATHS.has(req.path)) return next();
    const key = options.keyOf(req);
    const t = now();
    const previous = buckets.get(key);
    const tokens = previous
      ? Math.min(capacity, previous.tokens + ((t - previous.at) / 1000) * refillPerSecond)
      : capacity;
    buckets.delete(key);
    buckets.set(key, { tokens: tokens >= 1 ? tokens - 1 : tokens, at: t });
    sweep(t);
    if (tokens >= 1) return next();
    const retryAfter = Math.max(1, Math.ceil((1 - tokens) / refillPerSecond));
    res.setHeader('Retry-After', String(retryAfter));
    sendError(
      res,
      new HttpError(
        'rate_limited',
        `too many requests from this caller: at most ${capacity} at once, then ${describeRate(refillPerSecond)}; retry in ${retryAfter} s`,
      ),
    );
  };
}

function describeRate(perSecond: number): string {
  if (perSecond >= 1) return `${+perSecond.toFixed(3)} per second`;
  return `one every ${+(1 / perSecond).toFixed(3)} s`;
}
