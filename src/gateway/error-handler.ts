/**
 * How the gateway answers an error: an `HttpError` as it is, a store that cannot be reached as
 * `503`, a body or URL express could not read as the client's fault, anything else as `500`.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Problem } from '../../interpreter/problems.js';
import { HttpError, validationFailed } from '../shared/http-error.js';
import { StoreUnavailableError } from '../store/definition-store.js';
import { jsonSyntaxPosition } from '../shared/json-position.js';

export function sendError(res: Response, error: HttpError): void {
  const body: { code: string; message: string; details?: Problem[] } = { code: error.code, message: error.message };
  if (error.details) body.details = error.details;
  // For the audit log, which records why a request was refused.
  res.locals.errorCode = error.code;
  if (error.retryAfter !== undefined) res.setHeader('Retry-After', String(error.retryAfter));
  res.status(error.status).json({ error: body });
}

/** Says where the body stops being JSON (body-parser keeps the text it failed to parse). */
function notJsonMessage(body: unknown): string {
  const at = typeof body === 'string' ? jsonSyntaxPosition(body) : undefined;
  if (!at) return 'the body is not valid JSON';
  return `the body is not valid JSON: at line ${at.line}, column ${at.column}, expected ${at.expected}`;
}

/**
 * Express body-parser errors carry a `type`, or (a body that fails to decompress) just a 4xx
 * `status`; they are the client's fault, never a 500.
 */
function fromBodyParser(err: unknown): HttpError | undefined {
  if (!err || typeof err !== 'object') return undefined;
  switch ('type' in err ? err.type : undefined) {
    case 'entity.parse.failed':
      return validationFailed(
        [{ path: '', message: notJsonMessage('body' in err ? err.body : undefined) }],
        'malformed body',
      );
    case 'entity.too.large':
      return new HttpError('payload_too_large', tooLargeMessage(err));
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError('unsupported_media_type', 'unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return validationFailed([{ path: '', message: 'the body could not be read' }], 'malformed body');
  }
  const status = 'status' in err ? err.status : undefined;
  if ('expose' in err && err.expose === true && typeof status === 'number' && status >= 400 && status < 500) {
    const reason = err instanceof Error ? `: ${err.message}` : '';
    return validationFailed([{ path: '', message: `the body could not be read${reason}` }], 'malformed body');
  }
  return undefined;
}

/** raw-body's error knows the limit, and the declared length when there was a Content-Length. */
function tooLargeMessage(err: object): string {
  const limit = 'limit' in err && typeof err.limit === 'number' ? err.limit : undefined;
  const length = 'length' in err && typeof err.length === 'number' ? err.length : undefined;
  const size = length === undefined ? 'the body' : `the body (${length} bytes)`;
  if (limit === undefined) return `${size} is larger than the gateway accepts`;
  return `${size} is larger than the gateway accepts: at most ${limit} bytes (WEFT_MAX_BODY_BYTES)`;
}

/** A path parameter that is not valid percent-encoding (`/v1/runs/%E0%A4%A`): the router marks it 400. */
function fromRouter(err: unknown): HttpError | undefined {
  if (!(err instanceof URIError) || (err as { status?: unknown }).status !== 400) return undefined;
  return validationFailed([{ path: '', message: 'the URL path is not valid percent-encoding' }], 'malformed URL');
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendError(res, new HttpError('not_found', `no route ${req.method} ${req.path}`));
};

export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    if (err instanceof HttpError) return sendError(res, err);
    if (err instanceof StoreUnavailableError) return sendError(res, new HttpError('unavailable', err.message));
    const mapped = fromBodyParser(err) ?? fromRouter(err);
    if (mapped) return sendError(res, mapped);
    log.error({ err }, 'unexpected error');
    sendError(res, new HttpError('internal', 'internal error'));
  };
}
