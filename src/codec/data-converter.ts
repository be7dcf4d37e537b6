/**
 * The data converter of every Temporal client and worker when payload encryption is on: the
 * codec for payloads, and failures whose messages and stack traces are payloads too.
 */
import { fileURLToPath } from 'node:url';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { AesGcmCodec, type CodecKey } from './aes-gcm-codec.js';

/** The module exporting `failureConverter`, for `failureConverterPath` (workflow bundles included). */
export const ENCODED_FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./encoded-failure-converter.js', import.meta.url));

/** The data converter that encodes payloads and failure messages with `codec`. */
export function encryptingDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH };
}

/** The codec for a configured key ring; undefined (nothing encrypted) without one. */
export function codecFromKeys(keys: readonly CodecKey[] | undefined): AesGcmCodec | undefined {
  return keys && keys.length > 0 ? new AesGcmCodec(keys) : undefined;
}
