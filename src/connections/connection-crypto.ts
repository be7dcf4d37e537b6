/**
 * Encryption of named connections' secret settings: AES-256-GCM (node:crypto) under
 * `WEFT_CONNECTION_KEY`, a key the gateway (which encrypts) and the workers (which decrypt in
 * the activity) share. Each sealed value is bound to its tenant, name, connector and version
 * (GCM's additional data), so a ciphertext copied to another row, another tenant's or another
 * version's, does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The format of a sealed value; another format (a future key id scheme) is refused, not misread. */
const FORMAT = 'v1';

/** `WEFT_CONNECTION_KEY` as key bytes: the base64 of exactly 32 bytes, else undefined. */
export function connectionKeyBytes(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return undefined;
  const bytes = Buffer.from(trimmed, 'base64');
  return bytes.length === KEY_BYTES ? bytes : undefined;
}

/** What a sealed value is bound to. */
export interface SealedFor {
  tenant: string;
  name: string;
  connector: string;
  version: number;
}

const aad = (to: SealedFor) => Buffer.from(JSON.stringify([to.tenant, to.name, to.connector, to.version]), 'utf8');

/** Encrypts `value` (JSON) for one connection version: `v1:<base64 of iv, tag, ciphertext>`. */
export function seal(key: Buffer, to: SealedFor, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(to));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

/** Decrypts a value {@link seal} made for `to`; throws (naming nothing secret) when it does not decrypt. */
export function unseal(key: Buffer, to: SealedFor, sealed: string): unknown {
  const [format, data] = sealed.split(':', 2);
  if (format !== FORMAT || data === undefined) throw new Error('not a sealed connection secret of a known format');
  const bytes = Buffer.from(data, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(aad(to));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    const text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(
      'the secret settings do not decrypt with WEFT_CONNECTION_KEY (another key, or a value copied from elsewhere)',
    );
  }
}
