/**
 * Masking of secret values (`***`) in whatever an activity hands back to Temporal: outputs,
 * heartbeat details and failures (message, details, causes and their stack traces). Anything
 * handed back is recorded in the workflow history and may be logged, so it must not carry a
 * secret even when a server echoes one or a library quotes it in an error.
 */
import { ApplicationFailure } from '@temporalio/common';
import { retryDelayOf } from './errors.js';

export const MASK = '***';

export interface Mask {
  text(value: string): string;
  /** A deep copy of a JSON-like value with every string (and key) masked. */
  value<T>(value: T): T;
  /** The same failure with every secret masked, causes included. */
  failure(err: unknown): unknown;
}

/** Parts of a secret URL shorter than this are not masked on their own (a `?page=2` is not secret). */
const MIN_URL_PART = 6;

/**
 * A secret that is a URL also goes out as the URL parser rewrites it: scheme and host in lower
 * case, a path or query percent-encoded, a query re-serialised form-encoded when parameters are
 * appended (the http connector does that), and its credentials and query values on their own
 * (a library may quote any of them).
 */
function urlForms(secret: string): string[] {
  let url: URL;
  try {
    url = new URL(secret);
  } catch {
    // Not a URL: it may still become part of one, percent-encoded as a path.
    try {
      return [new URL(`http://x/${secret}`).pathname.slice(1)];
    } catch {
      return [];
    }
  }
  const out = [url.href, url.href.replace(/\/$/, '')];
  const reserialised = new URL(url.href);
  const query = reserialised.searchParams.toString();
  reserialised.search = query ? `?${query}` : '';
  out.push(reserialised.href, reserialised.href.replace(/\/$/, ''));
  if (url.search) out.push(url.href.slice(0, url.href.length - url.search.length - url.hash.length));
  const parts = [url.username, url.password, ...url.searchParams.values()].filter((p) => p.length >= MIN_URL_PART);
  for (const part of parts) {
    out.push(part);
    try {
      out.push(decodeURIComponent(part));
    } catch {
      // A lone "%" in a decoded query value: the value itself is pushed already.
    }
  }
  return out;
}

/**
 * The forms a secret takes on its way out: as is, percent-encoded in a URL, form-encoded, and
 * escaped inside a JSON string; a URL also as the URL parser writes it. Longest first, so a
 * secret containing another is masked whole.
 */
function forms(secrets: readonly string[]): string[] {
  const all = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    for (const value of [secret, ...urlForms(secret)]) {
      if (!value) continue;
      all.add(value);
      all.add(encodeURIComponent(value));
      all.add(new URLSearchParams({ s: value }).toString().slice(2));
      all.add(JSON.stringify(value).slice(1, -1));
    }
  }
  return [...all].filter(Boolean).sort((a, b) => b.length - a.length);
}

function maskError(err: Error, text: (s: string) => string, value: <T>(v: T) => T): Error {
  if (err instanceof ApplicationFailure) {
    const masked = ApplicationFailure.create({
      type: err.type ?? 'Error',
      message: text(err.message),
      nonRetryable: err.nonRetryable ?? false,
      details: value(err.details ?? []),
      ...(retryDelayOf(err) === undefined ? {} : { nextRetryDelay: retryDelayOf(err) }),
      ...(err.cause instanceof Error ? { cause: maskError(err.cause, text, value) } : {}),
    });
    return masked;
  }
  const masked = new Error(text(err.message));
  masked.name = err.name;
  masked.stack = err.stack === undefined ? undefined : text(err.stack);
  if (err.cause instanceof Error) masked.cause = maskError(err.cause, text, value);
  return masked;
}

/** A mask for these secret values; with none it changes nothing. */
export function createMask(secrets: readonly string[]): Mask {
  const patterns = forms(secrets);
  if (patterns.length === 0) return { text: (s) => s, value: (v) => v, failure: (e) => e };
  const text = (s: string) => patterns.reduce((out, p) => out.split(p).join(MASK), s);
  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return v.map((item: unknown) => value(item)) as T;
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [text(k), value(item)])) as T;
    }
    return v;
  };
  return {
    text,
    value,
    failure: (err) => (err instanceof Error ? maskError(err, text, value) : text(String(err))),
  };
}

/**
 * The strings at these JSON Pointers of `value` (every string inside an object or array found
 * there): the params a workflow rendered from secret-derived values (`ConnectorCall.mask`).
 */
export function valuesAt(value: unknown, pointers: readonly string[] | undefined): string[] {
  if (!pointers) return [];
  const found: string[] = [];
  const collect = (item: unknown): void => {
    if (typeof item === 'string') {
      if (item.length > 0) found.push(item);
    } else if (Array.isArray(item)) item.forEach(collect);
    else if (item && typeof item === 'object') Object.values(item).forEach(collect);
  };
  for (const pointer of pointers) {
    if (typeof pointer !== 'string') continue;
    let at: unknown = value;
    for (const part of pointer.split('/').slice(1)) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      at = at && typeof at === 'object' && Object.hasOwn(at, key) ? (at as Record<string, unknown>)[key] : undefined;
    }
    collect(at);
  }
  return found;
}
