/**
 * Errors the gateway answers with, always in the contract's shape
 * `{ "error": { "code", "message", "details"? } }` (`src/gateway/error-handler.ts` sends them).
 * Here, not in the gateway, because the access control in front of every route refuses callers
 * with them too.
 */
import type { z } from 'zod';
import { toPointer, type Problem } from '../../interpreter/problems.js';

export type ErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'rejected'
  | 'unavailable'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  rejected: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unsupported_media_type: 415,
  unavailable: 503,
  internal: 500,
};

export class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Problem[],
    /** Seconds for a `Retry-After` header (429 and 503 answers that a retry can cure). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export const notFound = (what: string) => new HttpError('not_found', `${what} not found`);

export function validationFailed(problems: Problem[], message = 'the request is invalid'): HttpError {
  return new HttpError('validation_failed', `${message}: ${problems.length} problem(s)`, problems);
}

/** Parses a request part with a zod schema or throws `validation_failed` naming each field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw validationFailed(parsed.error.issues.map((i) => ({ path: toPointer(i.path, prefix), message: i.message })));
}
