/**
 * POST /v1/events under Temporal's refusals, at the one boundary the dev server cannot be made
 * to reach reliably: a client whose calls fail with the gRPC codes Temporal answers. Load
 * (RESOURCE_EXHAUSTED, 8) and outages (UNAVAILABLE, 14) are retried until the deadline, then
 * 429/503 with Retry-After; an invalid event (3) is 400/413 naming `/payload`; every other code
 * is 503 with Retry-After, never a bare 500. The blob limit is also shown against the real dev
 * server in test/e2e/event-mailboxes.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServiceError, type Client } from '@temporalio/client';
import { withBackpressure } from '../../src/gateway/run-control.js';
import { HttpError } from '../../src/shared/http-error.js';

/** What the gRPC layer puts in a ServiceError's cause. */
function serviceError(code: number, details: string): ServiceError {
  const cause = Object.assign(new Error(`${code} ${details}`), { code, details });
  return new ServiceError('Failed to signalWithStart Workflow', { cause });
}

/** A Temporal client at the boundary: only the connection's deadline wrapper is used. */
const client = {
  connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
} as unknown as Client;

/** A call that fails with each of `codes` in turn, then answers "ok"; counts its attempts. */
function failing(...codes: number[]) {
  const calls = { n: 0 };
  const call = () => {
    const code = codes[calls.n++];
    return code === undefined
      ? Promise.resolve('ok')
      : Promise.reject(serviceError(code, code === 8 ? 'namespace rate limit exceeded' : 'connection lost'));
  };
  return { call, calls };
}

async function refusal(work: Promise<unknown>): Promise<HttpError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
  return err;
}

describe('event backpressure', () => {
  test('RESOURCE_EXHAUSTED then UNAVAILABLE are retried, and the event goes through', async () => {
    const { call, calls } = failing(8, 14);
    assert.equal(await withBackpressure(client, call, Date.now() + 10_000, 'evt-1'), 'ok');
    assert.equal(calls.n, 3);
  });

  test('RESOURCE_EXHAUSTED until the deadline is 429 rate_limited with Retry-After and the event id', async () => {
    const { call, calls } = failing(...Array.from({ length: 1_000 }, () => 8));
    const err = await refusal(withBackpressure(client, call, Date.now() + 500, 'evt-2'));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.retryAfter, 2);
    assert.match(err.message, /"event_id": "evt-2"/);
    assert.ok(calls.n >= 2, `retried before refusing (${calls.n} attempts)`);
  });

  test('UNAVAILABLE until the deadline is 503 with Retry-After', async () => {
    const { call } = failing(...Array.from({ length: 1_000 }, () => 14));
    const err = await refusal(withBackpressure(client, call, Date.now() + 300, 'evt-3'));
    assert.equal(err.status, 503);
    assert.equal(err.retryAfter, 2);
  });

  test('INVALID_ARGUMENT for the blob limit is 413 naming /payload; other invalid events are 400', async () => {
    const blob = await refusal(
      withBackpressure(
        client,
        () => Promise.reject(serviceError(3, 'Blob data size exceeds limit.')),
        Date.now() + 5_000,
        'evt-4',
      ),
    );
    assert.equal(blob.status, 413);
    assert.equal(blob.code, 'payload_too_large');
    assert.equal(blob.details?.[0]?.path, '/payload');
    const invalid = await refusal(
      withBackpressure(
        client,
        () => Promise.reject(serviceError(3, 'invalid signal name')),
        Date.now() + 5_000,
        'evt-5',
      ),
    );
    assert.equal(invalid.status, 400);
    assert.equal(invalid.code, 'validation_failed');
    assert.deepEqual(invalid.details, [
      {
        path: '/payload',
        message: 'Temporal refused the event as invalid: Failed to signalWithStart Workflow: invalid signal name',
      },
    ]);
  });

  test('every other gRPC code is 503 with Retry-After, not retried and never a 500', async () => {
    for (const code of [1, 2, 6, 7, 9, 10, 11, 12, 13, 15, 16]) {
      const { call, calls } = failing(code);
      const err = await refusal(withBackpressure(client, call, Date.now() + 5_000, `evt-c${code}`));
      assert.equal(err.status, 503, `gRPC code ${code}`);
      assert.equal(err.retryAfter, 2, `gRPC code ${code}`);
      assert.match(err.message, new RegExp(`gRPC code ${code}\\b`));
      assert.equal(calls.n, 1, `gRPC code ${code} is not retried`);
    }
  });
});
