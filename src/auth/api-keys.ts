/**
 * API keys: `wk_<id>_<secret>`. The id is public (it names the key in listings and the audit
 * log); the secret is 32 random bytes shown once at creation. Only sha256(secret) is stored:
 * the secret has full entropy, so a slow password hash would add nothing but latency.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccessStore, ApiKeyRecord } from '../store/access-store.js';
import type { Role } from './roles.js';

const KEY_PATTERN = /^wk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  id: string;
  /** The whole key, to hand to its owner once. */
  key: string;
  hash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function generateApiKey(): NewApiKey {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `wk_${id}_${secret}`, hash: hashSecret(secret) };
}

/** The id and secret of a well-formed key; undefined for anything else. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(key);
  return match ? { id: match[1] as string, secret: match[2] as string } : undefined;
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A key cannot be issued: the tenant already has an active key of that name. */
export class KeyNameTaken extends Error {}

/**
 * Issues an API key: checks the name is free among the tenant's active keys, stores the
 * record (with only the secret's hash) and returns it with the key, to be shown once.
 */
export async function issueApiKey(
  access: Pick<AccessStore, 'listApiKeys' | 'createApiKey'>,
  request: { name: string; roles: Role[]; tenant: string },
  createdBy: string,
  at = new Date().toISOString(),
): Promise<{ record: ApiKeyRecord; key: string }> {
  const { name, tenant } = request;
  const taken = (await access.listApiKeys(tenant)).some((k) => k.name === name && k.revoked_at === undefined);
  if (taken) throw new KeyNameTaken(`tenant "${tenant}" already has an active key named "${name}"`);
  const created = generateApiKey();
  const record: ApiKeyRecord = {
    id: created.id,
    name,
    tenant,
    roles: [...new Set(request.roles)],
    hash: created.hash,
    created_at: at,
    created_by: createdBy,
  };
  await access.createApiKey(record);
  return { record, key: created.key };
}
