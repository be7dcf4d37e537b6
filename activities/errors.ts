/**
 * Connector errors as Temporal failures with stable types. Whether Temporal retries is decided
 * here, where the cause is known: a 503 is worth another try, a 404 is not.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Stable error types a definition can name in `non_retryable_errors` or error handlers. */
export const ErrorTypes = {
  HttpError: 'HttpError',
  Timeout: 'Timeout',
  InvalidParams: 'InvalidParams',
  UnknownConnector: 'UnknownConnector',
  ConnectionError: 'ConnectionError',
} as const;

export function retryableFailure(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, details: details === undefined ? [] : [details] });
}

export function nonRetryableFailure(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
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
    });
  }
  const error = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ type: error.name, message: error.message, details: [{ attempt }], cause: error });
}
