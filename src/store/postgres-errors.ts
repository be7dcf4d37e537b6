/**
 * Telling "the PostgreSQL store cannot serve us now" from a failing query, for the definition
 * store and the access store alike (its own module, so neither store imports the other for it).
 */
import { StoreUnavailableError } from './definition-store.js';

/**
 * SQLSTATEs that mean "the database cannot serve us now" (connection, resources, shutdown,
 * authentication, database gone), not a bug in a query.
 */
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P0[1-3]|3D000)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connection is closed/i.test(err.message);
}

/** Runs a store operation, turning "database unreachable" into `StoreUnavailableError`. */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (isUnavailable(err)) {
      throw new StoreUnavailableError(`the definition store is unavailable: ${(err as Error).message}`, {
        cause: err,
      });
    }
    throw err;
  }
}
