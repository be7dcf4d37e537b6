/**
 * Who is calling: the identity the authentication middleware attaches to each request, and the
 * tenant it acts in. Everything a request may see or touch is decided from this.
 */
import type { Request } from 'express';
import type { Role } from './roles.js';

export interface Identity {
  /** Who, as the audit log and run history record it: `key:<name>`, `jwt:<subject>` or `local-dev`. */
  actor: string;
  tenant: string;
  roles: Role[];
  /** How the caller proved it. */
  via: 'api_key' | 'jwt' | 'local_dev';
  /** The API key's id, when `via` is `api_key` (rate limits are per key). */
  key_id?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `authenticate` on every request it lets through. */
    identity?: Identity;
  }
}

/** The caller's identity; the authentication middleware guarantees one on protected routes. */
export function identityOf(req: Request): Identity {
  if (!req.identity) throw new Error('no identity on the request: authenticate must run first');
  return req.identity;
}
