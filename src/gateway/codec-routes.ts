/**
 * The remote codec endpoint (Temporal's codec server protocol), so the Web UI and the
 * `temporal` CLI can show encrypted payloads decrypted without holding the keys:
 * `POST /codec/encode` and `POST /codec/decode` take and answer `{ "payloads": [...] }` in
 * protobuf's JSON form (metadata values and data in base64), for the namespace named by the
 * `X-Namespace` header.
 *
 * The Web UI calls it from the browser, on another origin: allowed origins get CORS headers
 * (with credentials, so a bearer token or cookie can be sent), and the preflight is answered
 * before the guard, since browsers send preflights without credentials.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import type express from 'express';
import { z } from 'zod';
import { HttpError, parseOrThrow, validationFailed } from '../shared/http-error.js';

/** How the gateway serves the codec endpoint. */
export interface CodecRouteOptions {
  /** The codec of a namespace; undefined answers 404 (payloads of that namespace are not ours to decode). */
  codecFor(namespace: string): PayloadCodec | undefined;
  /** Runs before encode and decode (authentication and authorization). */
  guard: express.RequestHandler;
  /** Origins (`scheme://host:port`) allowed to call from a browser: the Web UI's. */
  allowedOrigins: string[];
}

export const NAMESPACE_HEADER = 'X-Namespace';
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';
/** How long a browser may reuse a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';

// Protobuf's JSON form accepts standard and URL-safe base64, padded or not.
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64');

/** One `temporal.api.common.v1.Payload` in protobuf's JSON form. */
const JsonPayload = z.object(
  {
    metadata: z.record(z.string(), Base64, { error: 'expected an object of base64 strings' }).optional(),
    data: Base64.optional(),
  },
  { error: 'expected a payload: { "metadata": { key: base64 }, "data": base64 }' },
);

/** The body of both routes: `temporal.api.common.v1.Payloads` in protobuf's JSON form. */
export const CodecBody = z.object(
  { payloads: z.array(JsonPayload, { error: 'expected an array of payloads' }) },
  { error: 'expected { "payloads": [...] }' },
);

type JsonPayload = z.output<typeof JsonPayload>;

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

function toJson(payload: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, base64(value)])),
    data: base64(payload.data ?? new Uint8Array()),
  };
}

/** Decodes payload by payload, so a payload that cannot be decrypted is named by its index. */
async function decodeEach(codec: PayloadCodec, payloads: Payload[]): Promise<Payload[]> {
  const problems: Array<{ path: string; message: string }> = [];
  const decoded = await Promise.all(
    payloads.map(async (payload, index) => {
      try {
        const [out] = await codec.decode([payload]);
        return out ?? payload;
      } catch (err) {
        problems.push({ path: `/payloads/${index}`, message: err instanceof Error ? err.message : String(err) });
        return payload;
      }
    }),
  );
  if (problems.length > 0) throw validationFailed(problems, 'payloads could not be decoded');
  return decoded;
}

/**
 * CORS for the Web UI's calls to `/codec`. Mounted before authentication, so the browser can
 * read a refusal (401/403) instead of seeing a network error; preflights are answered here.
 */
export function codecCors(allowedOrigins: readonly string[]): express.RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    const origin = req.get('Origin');
    res.vary('Origin');
    const permitted = origin !== undefined && allowed.has(origin);
    if (permitted) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method !== 'OPTIONS') return next();
    // A preflight never carries credentials, so it is answered here, before the guard.
    if (permitted) {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
    }
    res.status(204).end();
  };
}

function codecHandler(direction: 'encode' | 'decode', options: CodecRouteOptions): express.RequestHandler {
  return async (req, res) => {
    const namespace = req.get(NAMESPACE_HEADER);
    if (!namespace) {
      throw validationFailed([
        { path: '/headers/x-namespace', message: 'expected the Temporal namespace the payloads belong to' },
      ]);
    }
    const codec = options.codecFor(namespace);
    if (!codec) throw new HttpError('not_found', `no codec for namespace "${namespace}"`);
    const payloads = parseOrThrow(CodecBody, req.body).payloads.map(fromJson);
    const out = direction === 'encode' ? await codec.encode(payloads) : await decodeEach(codec, payloads);
    res.json({ payloads: out.map(toJson) });
  };
}

/** Mounts `POST /codec/encode` and `POST /codec/decode` (mount `codecCors` on `/codec` first). */
export function codecRoutes(app: express.Express, options: CodecRouteOptions): void {
  app.post('/codec/encode', options.guard, codecHandler('encode', options));
  app.post('/codec/decode', options.guard, codecHandler('decode', options));
}
