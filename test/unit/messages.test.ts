/** Bounded failure messages and details (interpreter/messages.ts, activities/errors.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { boundDetail, boundFailure } from '../../activities/errors.js';
import { MAX_MESSAGE_BYTES, truncateMessage } from '../../interpreter/messages.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('bounded failure messages', () => {
  test('text within the bound is returned unchanged', () => {
    const text = 'é'.repeat(MAX_MESSAGE_BYTES / 2);
    assert.equal(bytes(text), MAX_MESSAGE_BYTES);
    assert.equal(truncateMessage(text), text);
  });

  test('longer text is cut to the bound, never inside a character, with the original size', () => {
    for (const unit of ['x', 'é', '€', '😀']) {
      const text = unit.repeat(10_000);
      const cut = truncateMessage(text);
      assert.ok(bytes(cut) <= MAX_MESSAGE_BYTES, `${unit}: ${bytes(cut)} bytes`);
      assert.ok(bytes(cut) > MAX_MESSAGE_BYTES - 40, `${unit}: uses the room it has`);
      assert.ok(cut.endsWith(`… (truncated, ${bytes(text)} bytes)`));
      const kept = cut.slice(0, cut.indexOf('…'));
      assert.equal(kept, unit.repeat(kept.length / unit.length), `${unit}: whole characters only`);
    }
  });

  test('details keep small fields and cut large ones', () => {
    const detail = { attempt: 2, detail: { status: 400, body: 'E'.repeat(2_000_000) } };
    const bounded = boundDetail(detail) as any;
    assert.ok(JSON.stringify(bounded).length <= 32 * 1024);
    assert.equal(bounded.attempt, 2);
    assert.equal(bounded.detail.status, 400);
    assert.match(bounded.detail.body, /… \(truncated, 2000000 bytes\)$/);
  });

  test('a failure keeps its type, retryability and retry delay; its message and causes are cut', () => {
    const failure = ApplicationFailure.create({
      type: 'HttpError',
      message: 'm'.repeat(100_000),
      nonRetryable: true,
      details: [{ attempt: 1 }],
      cause: new Error('c'.repeat(100_000)),
    });
    const bounded = boundFailure(failure) as ApplicationFailure;
    assert.equal(bounded.type, 'HttpError');
    assert.equal(bounded.nonRetryable, true);
    assert.deepEqual(bounded.details, [{ attempt: 1 }]);
    assert.ok(bytes(bounded.message) <= MAX_MESSAGE_BYTES);
    assert.ok(bounded.cause instanceof Error && bytes(bounded.cause.message) <= MAX_MESSAGE_BYTES);
  });
});
