/**
 * The AES-256-GCM payload codec: payloads round-trip through it, the ring rotates (old keys
 * still decrypt, the first key encrypts), a payload it cannot open fails naming why, and the
 * `WEFT_CODEC_KEYS` parser names the bad entry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  AesGcmCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  parseCodecKeys,
  PayloadDecryptionError,
} from '../../src/codec/aes-gcm-codec.js';
import { loadConfig } from '../../src/config.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();
const toPayload = (value: unknown) => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload | undefined) => defaultPayloadConverter.fromPayload(payload as Payload);

describe('AesGcmCodec', () => {
  test('encrypts whole payloads and decrypts them back to the same values', async () => {
    const codec = new AesGcmCodec([key('k1')]);
    const values = [{ secret: 'MARKER-round-trip', n: 1 }, 'plain text', null, [1, 2, 3]];
    const encoded = await codec.encode(values.map(toPayload));
    assert.equal(encoded.length, values.length);
    for (const payload of encoded) {
      assert.equal(text(payload.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(payload.metadata?.[KEY_ID_METADATA]), 'k1');
      // Only the encoding and key id are readable: the inner encoding (json/plain) is sealed too.
      assert.deepEqual(Object.keys(payload.metadata ?? {}).sort(), ['encoding', KEY_ID_METADATA].sort());
      assert.ok(!text(payload.data).includes('MARKER'));
      assert.ok(!text(payload.data).includes('json/plain'));
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(decoded.map(fromPayload), values);
    assert.equal(text(decoded[0]?.metadata?.encoding), 'json/plain');
  });

  test('the same value encrypts differently each time (random IV)', async () => {
    const codec = new AesGcmCodec([key('k1')]);
    const [a, b] = await codec.encode([toPayload('same'), toPayload('same')]);
    assert.notDeepEqual(Buffer.from(a?.data ?? []), Buffer.from(b?.data ?? []));
  });

  test('payloads that are not encrypted pass through decode unchanged', async () => {
    const codec = new AesGcmCodec([key('k1')]);
    const plain = toPayload({ written: 'before encryption was on' });
    const [decoded] = await codec.decode([plain]);
    assert.equal(decoded, plain);
  });

  test('rotation: a new key put first encrypts, the old key still decrypts', async () => {
    const k1 = key('k1');
    const before = new AesGcmCodec([k1]);
    const [old] = await before.encode([toPayload('from before the rotation')]);

    const after = new AesGcmCodec([key('k2'), k1]);
    assert.equal(after.encryptingKeyId, 'k2');
    assert.deepEqual((await after.decode([old as Payload])).map(fromPayload), ['from before the rotation']);
    const [fresh] = await after.encode([toPayload('after')]);
    assert.equal(text(fresh?.metadata?.[KEY_ID_METADATA]), 'k2');
    assert.deepEqual((await after.decode([fresh as Payload])).map(fromPayload), ['after']);

    // The old ring cannot read what the new key wrote, and says which key it lacks.
    await assert.rejects(before.decode([fresh as Payload]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.match(err.message, /key "k2", which is not in WEFT_CODEC_KEYS \(known key ids: k1\)/);
      return true;
    });
  });

  test('altered ciphertext, a swapped key id or a truncated payload fails to decrypt', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const codec = new AesGcmCodec([k1, k2]);
    const [sealed] = await codec.encode([toPayload({ amount: 100 })]);
    const data = Buffer.from(sealed?.data ?? []);

    for (const at of [0, 12, data.length - 1]) {
      const tampered = Buffer.from(data);
      tampered[at] = (tampered[at] ?? 0) ^ 1;
      await assert.rejects(codec.decode([{ ...sealed, data: tampered }]), /key "k1" failed authentication/);
    }
    // The key id is authenticated: relabelling the payload as k2's does not open it with k2.
    const relabelled = { ...sealed, metadata: { ...sealed?.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await assert.rejects(codec.decode([relabelled]), /key "k2" failed authentication/);
    await assert.rejects(
      codec.decode([{ ...sealed, data: data.subarray(0, 20) }]),
      /20 bytes, shorter than its IV and tag \(28\)/,
    );
    const noKeyId = { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data };
    await assert.rejects(codec.decode([noKeyId]), /no "encryption-key-id" metadata/);
  });

  test('a ring is refused without keys, with a short key or a repeated id', () => {
    assert.throws(() => new AesGcmCodec([]), /at least one key/);
    assert.throws(() => new AesGcmCodec([{ id: 'k1', key: randomBytes(16) }]), /key "k1": expected 32 bytes, got 16/);
    assert.throws(() => new AesGcmCodec([key('k1'), key('k1')]), /"k1" appears twice/);
  });
});

describe('parseCodecKeys', () => {
  const b64 = () => randomBytes(32).toString('base64');

  test('reads kid:base64 entries in order, first one encrypting', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const keys = parseCodecKeys(` new:${a.toString('base64')} , old.v1:${b.toString('base64url')}`);
    assert.deepEqual(
      keys.map((k) => k.id),
      ['new', 'old.v1'],
    );
    assert.deepEqual(keys[0]?.key, a);
    assert.deepEqual(keys[1]?.key, b);
    assert.equal(new AesGcmCodec(keys).encryptingKeyId, 'new');
  });

  const bad: Array<{ value: () => string; error: RegExp }> = [
    { value: () => '', error: /^WEFT_CODEC_KEYS entry 1: is empty; expected "<key id>:<base64 of 32 bytes>"$/ },
    { value: () => `k1:${b64()},`, error: /^WEFT_CODEC_KEYS entry 2: is empty/ },
    {
      value: () => `k1${b64()}`,
      error: /^WEFT_CODEC_KEYS entry 1: expected "<key id>:<base64 of 32 bytes>", found no ":"$/,
    },
    { value: () => `:${b64()}`, error: /^WEFT_CODEC_KEYS entry 1: expected a key id of 1-64 characters/ },
    { value: () => `k 1:${b64()}`, error: /^WEFT_CODEC_KEYS entry 1: expected a key id/ },
    {
      value: () => `k1:${b64()},k2:not base64!`,
      error: /^WEFT_CODEC_KEYS entry 2 \("k2"\): expected the key as base64/,
    },
    { value: () => `k1:`, error: /^WEFT_CODEC_KEYS entry 1 \("k1"\): expected the key as base64/ },
    {
      value: () => `k1:${randomBytes(16).toString('base64')}`,
      error: /^WEFT_CODEC_KEYS entry 1 \("k1"\): expected 32 bytes of base64 \(44 characters\), got 16 bytes$/,
    },
    {
      value: () => `k1:${b64()},k1:${b64()}`,
      error: /^WEFT_CODEC_KEYS entry 2 \("k1"\): the key id is used by an earlier entry/,
    },
  ];
  for (const { value, error } of bad) {
    test(`refuses ${error.source.slice(0, 60)}`, () => {
      const input = value();
      assert.throws(
        () => parseCodecKeys(input),
        (err: Error) => {
          assert.match(err.message, error);
          // Key material never appears in an error message.
          for (const part of input.split(/[,:]/).filter((p) => p.length >= 20)) assert.ok(!err.message.includes(part));
          return true;
        },
      );
    });
  }

  test('loadConfig reads WEFT_CODEC_KEYS, and leaves encryption off without it', () => {
    const k = randomBytes(32);
    const config = loadConfig({ WEFT_CODEC_KEYS: `k9:${k.toString('base64')}` });
    assert.deepEqual(config.codecKeys, [{ id: 'k9', key: k }]);
    assert.equal(loadConfig({}).codecKeys, undefined);
    assert.throws(
      () => loadConfig({ WEFT_CODEC_KEYS: 'k9:short' }),
      /^Error: invalid configuration: WEFT_CODEC_KEYS: WEFT_CODEC_KEYS entry 1 \("k9"\): expected 32 bytes/,
    );
  });
});
