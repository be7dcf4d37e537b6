/**
 * The built-in `http` connector. `request` sends one HTTP request and returns
 * `{ status, headers, body }`, with `body` parsed when the response is JSON. A non-2xx status
 * fails with type `HttpError`, retryable for 408, 429 and 5xx; a `Retry-After` on 429/503
 * becomes Temporal's `nextRetryDelay`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { parseDuration } from '../../interpreter/duration.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { retryAfterMs } from '../retry-after.js';
import { defineAction, defineConnector } from './connector.js';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Fields = z.record(z.string(), z.union([Scalar, z.array(Scalar)]));

/** 10 MiB: large enough for API answers, small enough that a run's history stays healthy. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const RETRYABLE_STATUS = new Set([408, 429]);
const RETRY_AFTER_STATUS = new Set([429, 503]);

export const HttpRequestParams = z
  .strictObject({
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
      .default('GET'),
    url: z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' }),
    headers: z.record(z.string(), Scalar).default({}),
    query: Fields.default({}),
    /** A string is sent as text, anything else as JSON, unless `content-type` says otherwise. */
    body: z.unknown().optional(),
    /** Sent as `application/x-www-form-urlencoded`; exclusive with `body`. */
    form: Fields.optional(),
    timeout: z
      .union([z.number(), z.string()])
      .refine((v) => parseDuration(v) !== undefined, 'expected a duration such as "30s"')
      .optional(),
    follow_redirects: z.boolean().default(true),
    max_response_bytes: z.number().int().positive().default(DEFAULT_MAX_RESPONSE_BYTES),
  })
  .refine((p) => p.body === undefined || p.form === undefined, {
    message: 'give either "body" or "form", not both',
    path: ['form'],
  });

type Params = z.output<typeof HttpRequestParams>;

function appendFields(target: URLSearchParams, fields: Record<string, unknown>): URLSearchParams {
  for (const [key, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) target.append(key, String(item));
  }
  return target;
}

function buildUrl(url: string, query: Record<string, unknown>): string {
  const target = new URL(url);
  appendFields(target.searchParams, query);
  return target.toString();
}

function encodeBody(params: Params, headers: Headers): string | undefined {
  if (params.form !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    return appendFields(new URLSearchParams(), params.form).toString();
  }
  const { body } = params;
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
    return body;
  }
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return JSON.stringify(body);
}

/**
 * Reads the body as text, refusing more than `limit` bytes: a declared `content-length` is
 * refused before reading, a streamed body as soon as it crosses the limit.
 */
async function readText(response: Response, limit: number, what: string): Promise<string> {
  const tooLarge = () =>
    nonRetryableFailure(ErrorTypes.ResponseTooLarge, `${what}: response body exceeds ${limit} bytes`, { limit });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Node's fetch types its body as ReadableStream<any>; it carries bytes.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string): unknown {
  if (/[/+]json\b/i.test(contentType) && text.length > 0) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function statusFailure(response: Response, result: { status: number; body: unknown }, what: string) {
  const message = `${what} answered ${response.status} ${response.statusText}`;
  const details = { status: result.status, body: result.body };
  if (!RETRYABLE_STATUS.has(response.status) && response.status < 500) {
    return nonRetryableFailure(ErrorTypes.HttpError, message, details);
  }
  const delay = RETRY_AFTER_STATUS.has(response.status) ? retryAfterMs(response.headers.get('retry-after')) : undefined;
  return retryableFailure(ErrorTypes.HttpError, message, details, { nextRetryDelay: delay });
}

export const httpConnector = defineConnector<undefined>({
  service_type: 'http',
  connect: () => Promise.resolve(undefined),
  disconnect: () => Promise.resolve(),
  actions: {
    request: defineAction({
      params: HttpRequestParams,
      async execute(_connection, params, ctx) {
        const headers = new Headers(Object.entries(params.headers).map(([k, v]) => [k, String(v)]));
        const body = encodeBody(params, headers);
        const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : (parseDuration(params.timeout) as number);
        const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
        const url = buildUrl(params.url, params.query);
        const what = `${params.method} ${url}`;
        const redirect = params.follow_redirects ? 'follow' : 'manual';
        let response: Response;
        let text: string;
        try {
          response = await fetch(url, { method: params.method, headers, body, signal, redirect });
          text = await readText(response, params.max_response_bytes, what);
        } catch (err) {
          if (ctx.signal.aborted || !(err instanceof Error) || err instanceof ApplicationFailure) throw err;
          if (err.name === 'TimeoutError' || err.name === 'AbortError') {
            throw retryableFailure(ErrorTypes.Timeout, `${what} timed out after ${timeoutMs} ms`);
          }
          const cause = err.cause instanceof Error ? `: ${err.cause.message}` : `: ${err.message}`;
          throw retryableFailure(ErrorTypes.ConnectionError, `${what} failed${cause}`);
        }
        const result = {
          status: response.status,
          headers: Object.fromEntries(response.headers.entries()),
          body: parseBody(text, response.headers.get('content-type') ?? ''),
        };
        // With redirects not followed, a 3xx is the answer the caller asked for.
        const redirected = !params.follow_redirects && response.status >= 300 && response.status < 400;
        if (response.ok || redirected) return result;
        throw statusFailure(response, result, what);
      },
    }),
  },
});
