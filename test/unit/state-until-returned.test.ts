/**
 * The state query never says closed before the workflow returns (issue 19): between the end of
 * the graph and the workflow's return (mailboxes to unregister, handlers to finish) Temporal
 * still says RUNNING, so the view does too; once returned it shows the closed status, result and
 * error as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { untilReturned, type RunStateView } from '../../interpreter/run-state.js';

const view = (status: RunStateView['status'], extra: Partial<RunStateView> = {}) =>
  ({ status, nodes: {}, variables: {}, ...extra }) as unknown as RunStateView;

test('a completed or failed graph reads running, without result or error, until the workflow returns', () => {
  const completed = view('completed', { result: { ok: true } });
  assert.deepEqual(untilReturned(completed, false), view('running'));
  const failed = view('failed', { error: { type: 'HttpError', message: 'boom', node: 'call' } });
  assert.deepEqual(untilReturned(failed, false), view('running'));
});

test('once returned, the closed view is shown unchanged', () => {
  const completed = view('completed', { result: 42 });
  assert.equal(untilReturned(completed, true), completed);
  const failed = view('failed', { error: { type: 'HttpError', message: 'boom' } });
  assert.equal(untilReturned(failed, true), failed);
});

test('open and cancelled runs are shown as they are', () => {
  for (const status of ['running', 'paused', 'cancelled'] as const) {
    const open = view(status);
    assert.equal(untilReturned(open, false), open);
  }
});
