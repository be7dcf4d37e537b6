/**
 * Retry from the failed node: a run whose third node fails is closed as failed; after the cause
 * is fixed, `POST /retry` starts a new run that does not call nodes one and two again (counted
 * on the test server), completes, and is linked both ways to the original.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { countedStep, json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let stack: TestStack;
let target: HttpTarget;
let fixed = false;

before(async () => {
  target = await startHttpTarget({
    '/one': (_req, res) => json(res, 200, { step: 1 }),
    '/two': (_req, res) => json(res, 200, { step: 2 }),
    '/three': (_req, res) => (fixed ? json(res, 200, { step: 3 }) : json(res, 422, { error: 'not yet' })),
  });
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
  await target?.close();
});

const step = (id: string) => countedStep(target.url, id);

test('retry of a closed failed run starts from the failed node and does not repeat completed ones', async () => {
  const id = unique('three-steps');
  await stack.call('POST', '/v1/definitions', {
    id,
    nodes: [
      step('one'),
      step('two'),
      step('three'),
      { id: 'sum', type: 'set', assign: { total: 'vars.one.body.step + vars.two.body.step + vars.three.body.step' } },
    ],
    edges: [
      { from: 'one', to: 'two' },
      { from: 'two', to: 'three' },
      { from: 'three', to: 'sum' },
    ],
  });
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
  const original = started.body.run_id as string;
  const failed = await stack.call('GET', `/v1/runs/${original}/result?wait=true`);
  assert.equal(failed.body.status, 'failed');
  assert.equal(failed.body.error.node, 'three');
  assert.deepEqual([target.count('/one'), target.count('/two'), target.count('/three')], [1, 1, 1]);

  const refusedNode = await stack.call('POST', `/v1/runs/${original}/retry`, { node: 'one' });
  assert.equal(refusedNode.status, 409);
  const closed = await stack.call('POST', `/v1/runs/${original}/pause`, {});
  assert.equal(closed.status, 409);
  assert.equal(closed.body.error.code, 'rejected');
  assert.match(closed.body.error.message, /closed \(failed\)/);

  fixed = true;
  const retried = await stack.call('POST', `/v1/runs/${original}/retry`, {});
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  const retryId = retried.body.run_id as string;
  assert.equal(retryId, `${original}.retry-1`);

  const result = await stack.call('GET', `/v1/runs/${retryId}/result?wait=true`);
  assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  assert.equal(result.body.result.total, 6);
  assert.deepEqual([target.count('/one'), target.count('/two'), target.count('/three')], [1, 1, 2]);

  const state = (await stack.call('GET', `/v1/runs/${retryId}`)).body;
  assert.ok(state.history.some((h: any) => h.to === 'retry_of' && h.note === original));
  assert.equal(state.nodes.one.status, 'completed');
  assert.equal(state.nodes.three.attempts, 1);

  // Linked both ways: the original names its retry (visibility may take a moment).
  const original_state = await until('the original to name its retry', async () => {
    const body = (await stack.call('GET', `/v1/runs/${original}`)).body;
    return body.retried_by ? body : undefined;
  });
  assert.deepEqual(original_state.retried_by, [retryId]);
});

test('retry of a compensated run is refused, saying it was compensated', async () => {
  const id = unique('saga');
  const undo = { connector: 'http', action: 'request', inputs: { url: `${target.url}/one`, query: { undo: 'x' } } };
  await stack.call('POST', '/v1/definitions', {
    id,
    nodes: [
      { ...step('one'), compensation: undo },
      { ...step('fails'), inputs: { url: `${target.url}/missing` } },
    ],
    edges: [{ from: 'one', to: 'fails' }],
    error_handlers: [{ id: 'undo', action: 'compensate' }],
  });
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
  const runId = started.body.run_id as string;
  const failed = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
  assert.equal(failed.body.status, 'failed', JSON.stringify(failed.body));
  const retried = await stack.call('POST', `/v1/runs/${runId}/retry`, {});
  assert.equal(retried.status, 409, JSON.stringify(retried.body));
  assert.equal(retried.body.error.code, 'rejected');
  assert.equal(
    retried.body.error.message,
    'the run was compensated after node "fails" failed: its completed steps were undone, so it cannot go on from where it failed; start a new run instead',
  );
});
