/**
 * The bound on what one node's activity hands back. Temporal refuses payloads over 2 MB (and
 * warns from 512 KB): an activity result above that would fail the workflow task, again and
 * again, instead of failing the node. So results are measured where they are produced and an
 * oversized one fails its node, never retried (the same call gives the same answer), with a
 * message that says how to fix it.
 */
import { ErrorTypes, nonRetryableFailure } from './errors.js';

/** 256 KiB: room for several outputs in the run state, which the `state` query and continue-as-new carry. */
export const DEFAULT_MAX_NODE_OUTPUT_BYTES = 256 * 1024;

/** Above this a result would come too close to Temporal's 2 MB together with the rest of its payload. */
export const MAX_NODE_OUTPUT_BYTES_CEILING = 1536 * 1024;

export const MAX_NODE_OUTPUT_BYTES_VARIABLE = 'WEFT_MAX_NODE_OUTPUT_BYTES';

/** The configured bound (`WEFT_MAX_NODE_OUTPUT_BYTES`), or the default; throws naming the variable when it is invalid. */
export function maxNodeOutputBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[MAX_NODE_OUTPUT_BYTES_VARIABLE];
  if (text === undefined || text.trim() === '') return DEFAULT_MAX_NODE_OUTPUT_BYTES;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > MAX_NODE_OUTPUT_BYTES_CEILING) {
    throw new Error(
      `invalid configuration: ${MAX_NODE_OUTPUT_BYTES_VARIABLE}: expected a number of bytes from 1 to ${MAX_NODE_OUTPUT_BYTES_CEILING}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** The size of a value as Temporal's JSON payload converter sends it. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}

/**
 * Throws a non-retryable `OutputTooLarge` failure when `output` is larger than `limit` bytes.
 * `what` names the call (`http.request`, `model "gpt-4o"`); `details` travel with the failure.
 */
export function checkOutputSize(output: unknown, limit: number, what: string, details: object = {}): void {
  const bytes = jsonBytes(output);
  if (bytes <= limit) return;
  throw nonRetryableFailure(
    ErrorTypes.OutputTooLarge,
    `the output of ${what} is ${bytes} bytes of JSON, above the limit of ${limit} bytes per node output (${MAX_NODE_OUTPUT_BYTES_VARIABLE}); ask the service for less (a filter, a page size, selected fields)`,
    { ...details, bytes, limit },
  );
}
