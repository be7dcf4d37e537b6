/** The interpreter's list of error types (for the warning about an unknown `match.error_type`) keeps up with the connectors'. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorTypes } from '../../activities/errors.js';
import { CONNECTOR_ERROR_TYPES } from '../../interpreter/error-types.js';

test('every connector error type is known to the definition warnings', () => {
  assert.deepEqual([...CONNECTOR_ERROR_TYPES].sort(), Object.values(ErrorTypes).sort());
});
