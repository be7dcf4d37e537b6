/**
 * Payload encryption: a Temporal `PayloadCodec` that seals every payload with AES-256-GCM, so
 * run inputs, variables, results and (with the encoding failure converter) error messages are
 * stored by Temporal as ciphertext. The whole payload (its metadata included, which names the
 * serialisation) is encrypted; the outer payload says only that it is encrypted and with which
 * key.
 *
 * Keys form a ring: the first key encrypts, every key decrypts. Rotation is adding a new key
 * in front and keeping the old ones until no stored payload needs them.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

/** The `encoding` metadata of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata key naming the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';
/** The environment variable holding the key ring. */
export const CODEC_KEYS_VARIABLE = 'WEFT_CODEC_KEYS';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
// 96-bit random IVs are GCM's recommended size; the tag is the full 128 bits.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** One key of the ring. */
export interface CodecKey {
  /** Stored in each payload's metadata; 1-64 of `A-Z a-z 0-9 . _ -`. */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** A payload this codec cannot decrypt: unknown key, altered ciphertext, or not what it says it is. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

function encodingOf(payload: Payload): string | undefined {
  const encoding = payload.metadata?.encoding;
  return encoding ? fromUtf8.decode(encoding) : undefined;
}

/** AES-256-GCM over whole payloads, with a key ring (first key encrypts, all keys decrypt). */
export class AesGcmCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: CodecKey;

  constructor(keys: readonly CodecKey[]) {
    const [first] = keys;
    if (!first) throw new Error('the codec needs at least one key');
    const ring = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID_PATTERN.test(id)) throw new Error(`key id "${id}": expected 1-64 of A-Z a-z 0-9 . _ -`);
      if (key.length !== KEY_BYTES) throw new Error(`key "${id}": expected ${KEY_BYTES} bytes, got ${key.length}`);
      if (ring.has(id)) throw new Error(`key id "${id}" appears twice; each key needs its own id`);
      ring.set(id, key);
    }
    this.keys = ring;
    this.current = first;
  }

  /** The id new payloads are encrypted with. */
  get encryptingKeyId(): string {
    return this.current.id;
  }

  // Synchronous work, but a failure must reach the caller as a rejection, never a throw.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((payload) => this.encrypt(payload)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((payload) => this.decrypt(payload)));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    // The key id is authenticated too: a payload relabelled with another key id fails to open.
    cipher.setAAD(utf8.encode(id));
    const plain = ProtoPayload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    // Payloads written before encryption was turned on (or by a client without the codec) stay readable.
    if (encodingOf(payload) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    if (!idBytes) {
      throw new PayloadDecryptionError(`an encrypted payload has no "${KEY_ID_METADATA}" metadata`);
    }
    const id = fromUtf8.decode(idBytes);
    const key = this.keys.get(id);
    if (!key) {
      throw new PayloadDecryptionError(
        `a payload is encrypted with key "${id}", which is not in ${CODEC_KEYS_VARIABLE} (known key ids: ${[...this.keys.keys()].join(', ')})`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(
        `a payload encrypted with key "${id}" is ${data.length} bytes, shorter than its IV and tag (${IV_BYTES + TAG_BYTES})`,
      );
    }
    const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(utf8.encode(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `a payload encrypted with key "${id}" failed authentication: it was altered, or key "${id}" is not the key it was encrypted with`,
      );
    }
    return ProtoPayload.decode(plain);
  }
}

/**
 * Parses `WEFT_CODEC_KEYS`: comma-separated `kid:base64` entries, each key 32 bytes
 * (`openssl rand -base64 32`); the first entry encrypts. Errors name the entry (by position
 * and id) and what was expected, and never repeat key material.
 */
export function parseCodecKeys(value: string, variable = CODEC_KEYS_VARIABLE): CodecKey[] {
  const entries = value.split(',').map((entry) => entry.trim());
  const keys: CodecKey[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const where = `${variable} entry ${index + 1}`;
    if (entry === '') throw new Error(`${where}: is empty; expected "<key id>:<base64 of 32 bytes>"`);
    const colon = entry.indexOf(':');
    if (colon < 0) {
      throw new Error(`${where}: expected "<key id>:<base64 of 32 bytes>", found no ":"`);
    }
    const id = entry.slice(0, colon).trim();
    const material = entry.slice(colon + 1).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      throw new Error(`${where}: expected a key id of 1-64 characters A-Z a-z 0-9 . _ - before the ":"`);
    }
    const named = `${where} ("${id}")`;
    if (seen.has(id)) throw new Error(`${named}: the key id is used by an earlier entry; each key needs its own id`);
    if (!BASE64_PATTERN.test(material)) {
      throw new Error(`${named}: expected the key as base64 after the ":" (e.g. from \`openssl rand -base64 32\`)`);
    }
    const key = Buffer.from(material, material.includes('-') || material.includes('_') ? 'base64url' : 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`${named}: expected ${KEY_BYTES} bytes of base64 (44 characters), got ${key.length} bytes`);
    }
    seen.add(id);
    keys.push({ id, key });
  });
  return keys;
}
