/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Servers that say when to
 * come back get their wish through Temporal's `nextRetryDelay` instead of the policy's backoff.
 */

/**
 * The delay a `Retry-After` header asks for, in milliseconds; `undefined` when the header is
 * absent or unreadable. A date in the past means "now" (0).
 */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header == null) return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * The delay from a response's headers: OpenAI-style `retry-after-ms` first (more precise), then
 * `retry-after`.
 */
export function retryDelayFromHeaders(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  return retryAfterMs(headers.get('retry-after'));
}
