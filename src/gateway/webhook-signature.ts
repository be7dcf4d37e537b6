/**
 * Webhook signatures: `X-Signature: sha256=<hex HMAC-SHA256 of the raw request body>`, keyed
 * with the trigger's secret. Compared in constant time, so a caller cannot learn the expected
 * signature byte by byte from response timings.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-signature';
const FORMAT = /^sha256=([0-9a-fA-F]{64})$/;

/** The header value a sender computes: `sha256=` and the hex HMAC-SHA256 of `body`. */
export function sign(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is a valid signature of `body` under `secret`. */
export function signatureMatches(body: Buffer, header: string | undefined, secret: string): boolean {
  const match = FORMAT.exec(header?.trim() ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1] ?? '', 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(given, expected);
}
