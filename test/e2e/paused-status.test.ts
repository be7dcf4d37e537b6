/**
 * A paused run is findable: the workflow keeps the WeftStatus search attribute current, so
 * `GET /v1/runs?status=paused` lists it (and the Web UI can filter on it), until it is resumed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { untilTrue } from '../support/poll.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

async function listed(definition: string, status: string): Promise<any[]> {
  const page = await stack.call('GET', `/v1/runs?definition_id=${definition}&status=${status}`);
  assert.equal(page.status, 200, JSON.stringify(page.body));
  return page.body.items as any[];
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  await untilTrue(what, check);
}

test('pause and resume are reflected in run listings', async () => {
  const id = unique('pausable');
  await stack.call('POST', '/v1/definitions', {
    id,
    nodes: [{ id: 'gate', type: 'event', event_type: unique('go'), correlation_key: 'null' }],
  });
  const runId = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  await eventually(async () => (await listed(id, 'running')).length === 1, 'the run is listed as running');
  assert.deepEqual(await listed(id, 'paused'), []);

  assert.equal((await stack.call('POST', `/v1/runs/${runId}/pause`, { reason: 'audit' })).status, 202);
  await eventually(
    async () => (await listed(id, 'paused')).some((r) => r.run_id === runId && r.status === 'paused'),
    'listed as paused',
  );

  assert.equal((await stack.call('POST', `/v1/runs/${runId}/resume`, {})).status, 202);
  await eventually(async () => (await listed(id, 'paused')).length === 0, 'no longer listed as paused');
  const running = await listed(id, 'running');
  assert.equal(running[0]?.status, 'running');
  await stack.call('POST', `/v1/runs/${runId}/cancel`, {});
});
