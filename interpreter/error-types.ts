/**
 * The error types a failure can carry, for the warning about a handler's `match.error_type` that
 * names none of them. A definition cannot choose a failure's type: connectors give theirs
 * (activities/errors.ts `ErrorTypes`, kept in step by test/unit/error-types.test.ts), the engine
 * its own, a child run passes up the type it failed with, and a connector's unexpected exception
 * the name of its JavaScript error class.
 */
import { QUOTA_EXCEEDED } from './quotas.js';
import { STATE_TOO_LARGE } from './state-size.js';

/** What connectors and AI calls fail with (the values of activities/errors.ts `ErrorTypes`). */
export const CONNECTOR_ERROR_TYPES = [
  'HttpError',
  'Timeout',
  'RateLimited',
  'InvalidParams',
  'UnknownConnector',
  'ConnectionError',
  'NotConfigured',
  'SecretNotFound',
  'ConnectionNotFound',
  'ResponseTooLarge',
  'EgressDenied',
  'OutputTooLarge',
  'SqlError',
  'RedisError',
  'NoResponders',
  'NatsError',
  'SmtpError',
  'ModelUnavailable',
  'ModelError',
  'InvalidModelOutput',
  'UnpricedModel',
  'MemoryBudgetExceeded',
] as const;

/** What the engine itself fails a node or a run with. */
export const ENGINE_ERROR_TYPES = [
  'Cancelled',
  'DefinitionNotFound',
  'EndFailed',
  'Error',
  'ExpressionError',
  'InvalidInput',
  'MaxNodeVisitsExceeded',
  'Rejected',
  QUOTA_EXCEEDED,
  STATE_TOO_LARGE,
] as const;

/** JavaScript's own error classes, which an unexpected exception in a connector is named by. */
const JAVASCRIPT_ERROR_TYPES = ['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'AbortError'];

/** Every type a failure can have, as far as weft knows. */
export const KNOWN_ERROR_TYPES: readonly string[] = [
  ...CONNECTOR_ERROR_TYPES,
  ...ENGINE_ERROR_TYPES,
  ...JAVASCRIPT_ERROR_TYPES,
];
