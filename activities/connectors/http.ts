/**
 * The built-in `http` connector. `request` sends one HTTP request and returns
 * `{ status, headers, body }`, with `body` parsed when the response is JSON. A non-2xx status
 * fails with type `HttpError`, retryable for 408, 429 and 5xx; a `Retry-After` on 429/503
 * becomes Temporal's `nextRetryDelay`.
 *
 * Every hop is checked by the egress policy: the host is resolved, every address checked, and
 * the connection made to those checked addresses only (an undici agent whose `lookup` answers
 * with them). Redirects are followed here, one hop at a time, each checked the same way.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { ApplicationFailure } from '@temporalio/common';
import type { Agent } from 'undici-types';
import { z } from 'zod';
import { parseDuration } from '../../interpreter/duration.js';
import type { EgressResolution } from '../egress.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { retryAfterMs } from '../retry-after.js';
import { HTTP_BASE_URL_SETTING, HTTP_HEADERS_SETTING } from '../connections.js';
import { defineAction, defineConnector, type ConnectorEnv } from './connector.js';

function hasCredentials(url: URL): boolean {
  return url.username !== '' || url.password !== '';
}

const AbsoluteUrl = z
  .url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' })
  // fetch refuses such a URL, quoting it whole (password included) in its error.
  .refine(
    // An unparsable URL is the url check's to report (zod runs this one too).
    (u) => !URL.canParse(u) || !hasCredentials(new URL(u)),
    'expected a URL without user:password@; send credentials in a header',
  );
// A path, for a task with a connection: resolved under the connection's base_url.
const UrlPath = z.string().regex(/^\/(?!\/)[^\s]*$/, 'expected a path such as "/v1/orders"');

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Fields = z.record(z.string(), z.union([Scalar, z.array(Scalar)]));

const DEFAULT_TIMEOUT_MS = 30_000;
/** Redirects followed before the call fails (fetch's own limit is 20). */
export const MAX_REDIRECTS = 10;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
/** Headers that must not follow a redirect to another origin (what fetch itself drops, and cookies). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
const RETRYABLE_STATUS = new Set([408, 429]);
const RETRY_AFTER_STATUS = new Set([429, 503]);

export const HttpRequestParams = z
  .strictObject({
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
      .default('GET'),
    // One string (not a union), so the served params schema is a plain string field: the Studio's
    // inputs form draws it as a text box.
    url: z
      .string()
      .superRefine((url, ctx) => {
        const parsed = (url.startsWith('/') ? UrlPath : AbsoluteUrl).safeParse(url);
        if (!parsed.success)
          for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      })
      .meta({
        description:
          'An absolute http(s) URL, without user:password@ (refused: send credentials in a header); or, with a named connection, a path ("/v1/orders") under its base_url.',
      }),
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
    /** Lowers the worker's cap (`WEFT_MAX_RESPONSE_BYTES`) for this request; never raises it. */
    max_response_bytes: z.number().int().positive().optional(),
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
    nonRetryableFailure(
      ErrorTypes.ResponseTooLarge,
      `${what}: response body exceeds the cap of ${limit} bytes (WEFT_MAX_RESPONSE_BYTES, or the call's max_response_bytes); reading stopped there`,
      { limit },
    );
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

type AgentClass = new (options: Agent.Options) => Agent;
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
let agentClass: AgentClass | undefined;

/**
 * undici's `Agent`, the dispatcher class of Node's own fetch. Node does not export it, but
 * installs an instance as the global dispatcher under undici's documented cross-version symbol;
 * using that class (not an undici copy from npm) keeps requests on Node's fetch, which the
 * OpenTelemetry undici instrumentation observes.
 */
async function undiciAgent(): Promise<AgentClass> {
  if (agentClass) return agentClass;
  const globals = globalThis as unknown as Record<symbol, unknown>;
  // Node loads undici, and installs its global dispatcher, on the first fetch.
  if (!globals[GLOBAL_DISPATCHER]) await fetch('data:,').catch(() => undefined);
  const dispatcher = globals[GLOBAL_DISPATCHER] as { constructor?: unknown } | undefined;
  if (typeof dispatcher?.constructor !== 'function' || dispatcher.constructor.name !== 'Agent') {
    throw new Error('http: cannot find the undici Agent of Node.js fetch (was another global dispatcher installed?)');
  }
  agentClass = dispatcher.constructor as AgentClass;
  return agentClass;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dispatcher that connects only to the checked addresses, whatever DNS says by then. */
export async function pinnedAgent(resolution: EgressResolution): Promise<Agent> {
  const AgentClass = await undiciAgent();
  const lookup = (_host: string, options: LookupOptions, callback: LookupCallback) => {
    const first = resolution.addresses[0];
    if (!first)
      return callback(Object.assign(new Error(`no checked address for ${resolution.host}`), { code: 'ENOTFOUND' }), []);
    if (options.all) return callback(null, resolution.addresses);
    callback(null, first.address, first.family);
  };
  return new AgentClass({ connect: { lookup } });
}

/**
 * The URL as failures name it: origin and path, without the query (keys and tokens often
 * travel there) or the user and password of the URL.
 */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function defaultPort(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
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

/** What a named connection gives http calls (nothing without one). */
interface HttpConnection {
  base?: URL;
  headers: Record<string, string>;
}

function connectionOf(env: ConnectorEnv): HttpConnection {
  const base = env[HTTP_BASE_URL_SETTING];
  const headers = env[HTTP_HEADERS_SETTING];
  return {
    ...(base === undefined ? {} : { base: new URL(base) }),
    headers: headers === undefined ? {} : (JSON.parse(headers) as Record<string, string>),
  };
}

/** The URL a call goes to: a path under the connection's base_url, or an absolute URL (of its origin, with one). */
function targetUrl(connection: HttpConnection, url: string): string {
  const { base } = connection;
  if (url.startsWith('/')) {
    if (!base) {
      throw nonRetryableFailure(
        ErrorTypes.InvalidParams,
        `invalid params for http.request: url: "${url}" is a path; it needs a named connection with a base_url, or give an absolute URL`,
      );
    }
    return new URL(`${base.pathname.replace(/\/+$/, '')}${url}`, base.origin).toString();
  }
  if (base && new URL(url).origin !== base.origin) {
    // The connection's headers (credentials) go to its own origin only.
    throw nonRetryableFailure(
      ErrorTypes.InvalidParams,
      `invalid params for http.request: url: with a connection, expected a path or a URL of ${base.origin}, got one of ${new URL(url).origin}`,
    );
  }
  return url;
}

export const httpConnector = defineConnector<HttpConnection>({
  service_type: 'http',
  connect: (env) => Promise.resolve(connectionOf(env)),
  disconnect: () => Promise.resolve(),
  actions: {
    request: defineAction({
      params: HttpRequestParams,
      async execute(connection, params, ctx) {
        // The connection's headers first: a task's own header of the same name replaces one.
        let headers = new Headers(Object.entries(connection.headers));
        for (const [k, v] of Object.entries(params.headers)) headers.set(k, String(v));
        const connectionHeaders = Object.keys(connection.headers).map((k) => k.toLowerCase());
        let body = encodeBody(params, headers);
        const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : (parseDuration(params.timeout) as number);
        const limit = Math.min(params.max_response_bytes ?? ctx.maxResponseBytes, ctx.maxResponseBytes);
        const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
        let url = new URL(buildUrl(targetUrl(connection, params.url), params.query));
        let method = params.method;
        let what = `${method} ${shown(url)}`;
        let response: Response;
        let text: string;
        for (let hop = 0; ; hop++) {
          // Checked before every hop, the first included; throws EgressDenied when refused.
          const resolution = await ctx.egress.resolve({ host: url.hostname, port: defaultPort(url), url });
          const agent = await pinnedAgent(resolution);
          try {
            response = await fetch(url, { method, headers, body, signal, redirect: 'manual', dispatcher: agent });
            const location = response.headers.get('location');
            if (params.follow_redirects && REDIRECT_STATUS.has(response.status) && location !== null) {
              await response.body?.cancel();
              if (hop >= MAX_REDIRECTS) {
                throw nonRetryableFailure(ErrorTypes.HttpError, `${what}: more than ${MAX_REDIRECTS} redirects`);
              }
              const next = new URL(location, url);
              if (next.protocol !== 'http:' && next.protocol !== 'https:') {
                throw nonRetryableFailure(ErrorTypes.HttpError, `${what}: redirect to a non-http(s) URL`);
              }
              if (hasCredentials(next)) {
                throw nonRetryableFailure(ErrorTypes.HttpError, `${what}: redirect to a URL with user:password@`);
              }
              // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body.
              if (
                response.status === 303 ||
                ((response.status === 301 || response.status === 302) && method === 'POST')
              ) {
                if (method !== 'HEAD') method = 'GET';
                body = undefined;
                headers = new Headers(headers);
                headers.delete('content-type');
              }
              if (next.origin !== url.origin) {
                headers = new Headers(headers);
                for (const name of [...CREDENTIAL_HEADERS, ...connectionHeaders]) headers.delete(name);
              }
              url = next;
              what = `${method} ${shown(url)}`;
              continue;
            }
            text = await readText(response, limit, what);
            break;
          } catch (err) {
            if (ctx.signal.aborted || !(err instanceof Error) || err instanceof ApplicationFailure) throw err;
            if (err.name === 'TimeoutError' || err.name === 'AbortError') {
              throw retryableFailure(ErrorTypes.Timeout, `${what} timed out after ${timeoutMs} ms`);
            }
            const cause = err.cause instanceof Error ? `: ${err.cause.message}` : `: ${err.message}`;
            throw retryableFailure(ErrorTypes.ConnectionError, `${what} failed${cause}`);
          } finally {
            // Closes the sockets: a body cut off at the cap is not read any further.
            await agent.destroy();
          }
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
