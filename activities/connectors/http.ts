/**
 * The built-in `http` connector. `request` sends one HTTP request and returns
 * `{ status, headers, body }`, with `body` parsed when the response is JSON. A non-2xx status
 * fails with type `HttpError`, retryable for 408, 429 and 5xx.
 */
import { z } from 'zod';
import { parseDuration } from '../../interpreter/duration.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { defineAction, defineConnector } from './connector.js';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

export const HttpRequestParams = z.strictObject({
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
    .default('GET'),
  url: z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' }),
  headers: z.record(z.string(), Scalar).default({}),
  query: z.record(z.string(), z.union([Scalar, z.array(Scalar)])).default({}),
  body: z.unknown().optional(),
  timeout: z
    .union([z.number(), z.string()])
    .refine((v) => parseDuration(v) !== undefined, 'expected a duration such as "30s"')
    .optional(),
});

const DEFAULT_TIMEOUT_MS = 30_000;
const RETRYABLE_STATUS = new Set([408, 429]);

function buildUrl(url: string, query: Record<string, unknown>): string {
  const target = new URL(url);
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) target.searchParams.append(key, String(item));
  }
  return target.toString();
}

function encodeBody(body: unknown, headers: Headers): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
    return body;
  }
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return JSON.stringify(body);
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (/[/+]json\b/i.test(type) && text.length > 0) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
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
        const body = encodeBody(params.body, headers);
        const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : (parseDuration(params.timeout) as number);
        const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
        const url = buildUrl(params.url, params.query);
        let response: Response;
        try {
          response = await fetch(url, { method: params.method, headers, body, signal });
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
            throw retryableFailure(ErrorTypes.Timeout, `${params.method} ${url} timed out after ${timeoutMs} ms`);
          }
          const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
          throw retryableFailure(ErrorTypes.ConnectionError, `${params.method} ${url} failed${cause}`);
        }
        const result = {
          status: response.status,
          headers: Object.fromEntries(response.headers.entries()),
          body: await readBody(response),
        };
        if (response.ok) return result;
        const message = `${params.method} ${url} answered ${response.status} ${response.statusText}`;
        const details = { status: result.status, body: result.body };
        throw RETRYABLE_STATUS.has(response.status) || response.status >= 500
          ? retryableFailure(ErrorTypes.HttpError, message, details)
          : nonRetryableFailure(ErrorTypes.HttpError, message, details);
      },
    }),
  },
});
