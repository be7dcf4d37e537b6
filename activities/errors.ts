/**
 * Connector errors as Temporal failures with stable types. Whether Temporal retries is decided
 * here, where the cause is known: a 503 is worth another try, a 404 is not.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MAX_MESSAGE_BYTES, truncateMessage } from '../interpreter/messages.js';

/** Stable error types a definition can name in `non_retryable_errors` or error handlers. */
export const ErrorTypes = {
  /** A non-2xx HTTP answer; retryable for 408, 429 and 5xx. */
  HttpError: 'HttpError',
  /** The call took longer than its timeout; retryable. */
  Timeout: 'Timeout',
  /** The model endpoint answered 429; retryable, honouring `Retry-After`. */
  RateLimited: 'RateLimited',
  /** Params that do not match the action's schema; never retried. */
  InvalidParams: 'InvalidParams',
  UnknownConnector: 'UnknownConnector',
  /** The service could not be reached or dropped the connection; retryable. */
  ConnectionError: 'ConnectionError',
  /** A required setting (environment variable) is missing; never retried. */
  NotConfigured: 'NotConfigured',
  /** A `secret:NAME` reference that no secret source knows; never retried. */
  SecretNotFound: 'SecretNotFound',
  /** A task's `connection` that the run's tenant has not (or not for this connector); never retried. */
  ConnectionNotFound: 'ConnectionNotFound',
  /**
   * A response above the cap (`WEFT_MAX_RESPONSE_BYTES`, lowered by the call's
   * `max_response_bytes`); reading stopped at the cap; never retried.
   */
  ResponseTooLarge: 'ResponseTooLarge',
  /**
   * The egress policy refused where a connector was to connect (activities/egress.ts), or for
   * postgres as whom (the store's database, a privileged role); never retried.
   */
  EgressDenied: 'EgressDenied',
  /** A node's output above `WEFT_MAX_NODE_OUTPUT_BYTES` (256 KiB by default, well under Temporal's 2 MB); never retried. */
  OutputTooLarge: 'OutputTooLarge',
  /** PostgreSQL refused a statement; the SQLSTATE is in the message. */
  SqlError: 'SqlError',
  /** Redis answered a command with an error reply (wrong type, not an integer, …). */
  RedisError: 'RedisError',
  /** NATS (or a JetStream stream) had nobody to take the message; retryable. */
  NoResponders: 'NoResponders',
  /** JetStream refused the message or the subject is not permitted; never retried. */
  NatsError: 'NatsError',
  /** The SMTP server refused the message; retryable only for 4xx answers. */
  SmtpError: 'SmtpError',
  /** The model endpoint answered 5xx; retryable. */
  ModelUnavailable: 'ModelUnavailable',
  /** The model endpoint refused the request (400, 401, 404, …); never retried. */
  ModelError: 'ModelError',
  /** The model's answer failed the output mapping; repaired by retries up to `max_repairs`. */
  InvalidModelOutput: 'InvalidModelOutput',
  /** A run with a budget asked for a model that has no price (`WEFT_AI_PRICES`, default table); never retried. */
  UnpricedModel: 'UnpricedModel',
  /** A call whose `resource_limits.memory_mb` is more than the worker's whole memory budget (`WEFT_WORKER_MEMORY_MB`); never retried. */
  MemoryBudgetExceeded: 'MemoryBudgetExceeded',
} as const;

/** Extra failure settings: `nextRetryDelay` overrides the retry policy's backoff for one retry. */
export interface FailureOptions {
  nextRetryDelay?: number;
}

export function retryableFailure(
  type: string,
  message: string,
  details?: unknown,
  options: FailureOptions = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    details: details === undefined ? [] : [details],
    ...(options.nextRetryDelay === undefined ? {} : { nextRetryDelay: options.nextRetryDelay }),
  });
}

export function nonRetryableFailure(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
  });
}

/**
 * The retry delay a failure asks for, in ms. Our failures set it as a number of milliseconds
 * only; the SDK's own type also allows strings, which nothing here produces.
 */
export function retryDelayOf(failure: ApplicationFailure): number | undefined {
  const delay: unknown = failure.nextRetryDelay;
  return typeof delay === 'number' ? delay : undefined;
}

/**
 * The same failure with its message starting with the connector and the target it hit
 * (`postgres db.internal:5432/app: …`), so an operator with several servers knows which one
 * answered. A bare `postgres: ` the connector put first is replaced, not repeated. Anything but
 * an ApplicationFailure (a bug, a cancellation) is left as it is.
 */
export function namingTarget(err: unknown, service: string, target: string | undefined): unknown {
  if (!(err instanceof ApplicationFailure) || target === undefined) return err;
  const own = `${service}: `;
  const rest = err.message.startsWith(own) ? err.message.slice(own.length) : err.message;
  return ApplicationFailure.create({
    type: err.type ?? 'Error',
    message: `${service} ${target}: ${rest}`,
    nonRetryable: err.nonRetryable ?? false,
    details: err.details ?? [],
    ...(retryDelayOf(err) === undefined ? {} : { nextRetryDelay: retryDelayOf(err) }),
    ...(err.cause instanceof Error ? { cause: err.cause } : {}),
  });
}

/** Details every failure of `runConnector` carries, so the run state can show attempts. */
export interface FailureDetails {
  attempt: number;
  detail?: unknown;
}

/**
 * Re-raises an error as an ApplicationFailure whose details say which attempt failed; errors
 * that are not ApplicationFailures (bugs, unexpected library errors) stay retryable.
 */
export function withAttempt(err: unknown, attempt: number): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    const details: FailureDetails = { attempt, detail: err.details?.[0] };
    return ApplicationFailure.create({
      type: err.type ?? 'Error',
      message: err.message,
      nonRetryable: err.nonRetryable ?? false,
      details: [details],
      ...(retryDelayOf(err) === undefined ? {} : { nextRetryDelay: retryDelayOf(err) }),
    });
  }
  const error = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ type: error.name, message: error.message, details: [{ attempt }], cause: error });
}

/** The longest failure message handed to Temporal, in UTF-8 bytes (8 KiB); longer ones are cut with a marker. */
export const MAX_FAILURE_MESSAGE_BYTES = MAX_MESSAGE_BYTES;
/** The largest failure detail handed to Temporal, in bytes of JSON (Temporal terminates runs whose failures pass ~2 MB). */
export const MAX_FAILURE_DETAILS_BYTES = 32 * 1024;

const truncateText = truncateMessage;
const utf8 = new TextEncoder();

const jsonBytes = (value: unknown) => utf8.encode(JSON.stringify(value) ?? 'null').length;

/**
 * A failure detail within `max` bytes of JSON: as is when it fits; else an object keeps its
 * small fields (strings cut to the message bound) and shows each field that does not fit as a
 * truncation marker; anything else becomes its JSON, truncated.
 */
export function boundDetail(detail: unknown, max = MAX_FAILURE_DETAILS_BYTES): unknown {
  const size = jsonBytes(detail);
  if (size <= max) return detail;
  if (detail && typeof detail === 'object' && !Array.isArray(detail)) {
    const out: Record<string, unknown> = {};
    let budget = max;
    for (const [key, value] of Object.entries(detail)) {
      const room = budget - key.length - 4;
      let kept: unknown =
        typeof value === 'string'
          ? truncateText(value, Math.max(0, Math.min(room, MAX_FAILURE_MESSAGE_BYTES)))
          : value && typeof value === 'object' && !Array.isArray(value) && room > 64
            ? boundDetail(value, room)
            : value;
      if (jsonBytes(kept) + key.length + 4 > budget) kept = `… (truncated, ${jsonBytes(value)} bytes)`;
      budget -= jsonBytes(kept) + key.length + 4;
      out[key] = kept;
    }
    return out;
  }
  return truncateText(JSON.stringify(detail) ?? 'null', max);
}

/**
 * The same failure with its message (and its causes' messages and stacks) cut to
 * `MAX_FAILURE_MESSAGE_BYTES` and its details to `MAX_FAILURE_DETAILS_BYTES`. Applied last,
 * after masking, so a cut never leaves part of a secret unmasked.
 */
export function boundFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      type: err.type ?? 'Error',
      message: truncateText(err.message),
      nonRetryable: err.nonRetryable ?? false,
      details: (err.details ?? []).map((d) => boundDetail(d)),
      ...(retryDelayOf(err) === undefined ? {} : { nextRetryDelay: retryDelayOf(err) }),
      ...(err.cause instanceof Error ? { cause: boundFailure(err.cause) as Error } : {}),
    });
  }
  if (err instanceof Error) {
    const bounded = new Error(truncateText(err.message));
    bounded.name = err.name;
    bounded.stack = err.stack === undefined ? undefined : truncateText(err.stack);
    if (err.cause instanceof Error) bounded.cause = boundFailure(err.cause);
    return bounded;
  }
  return truncateText(String(err));
}
