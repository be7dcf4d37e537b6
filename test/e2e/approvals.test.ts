/**
 * Approval nodes through the gateway, with real API keys: `approvers` listing a role is met by
 * callers holding it, a `quorum` needs distinct approvers, and `forbid_self_approval` refuses the
 * run's starter (recorded when the gateway started the run).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createKey } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { untilTrue } from '../support/poll.js';

let stack: TestStack;
const keys: Record<string, string> = {};
before(async () => {
  stack = await startTestStack();
  keys.admin = await createKey(stack, 'admin', ['admin']);
  keys.starter = await createKey(stack, 'starter', ['operator', 'approver'], { adminKey: keys.admin });
  keys.ann = await createKey(stack, 'ann', ['approver'], { adminKey: keys.admin });
  keys.bob = await createKey(stack, 'bob', ['approver'], { adminKey: keys.admin });
  keys.ed = await createKey(stack, 'ed', ['editor'], { adminKey: keys.admin });
});
after(async () => {
  await stack?.close();
});

async function startGated(node: Record<string, unknown>): Promise<string> {
  const id = unique('approvals');
  const submitted = await stack.call(
    'POST',
    '/v1/definitions',
    {
      id,
      nodes: [
        { id: 'review', type: 'approval', output: 'decision', ...node },
        { id: 'done', type: 'set', assign: { shipped: 'true' } },
      ],
      edges: [{ from: 'review', to: 'done' }],
    },
    bearer(keys.admin as string),
  );
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {}, bearer(keys.starter as string));
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const runId = started.body.run_id as string;
  await untilTrue('the approval node to wait', async () => {
    const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, bearer(keys.admin as string));
    return state.body?.nodes?.review?.status === 'waiting';
  });
  return runId;
}

const decide = (runId: string, who: string, approved = true) =>
  stack.call('POST', `/v1/runs/${runId}/approvals/review`, { approved }, bearer(keys[who] as string));

async function resultOf(runId: string): Promise<any> {
  const answer = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`, undefined, bearer(keys.admin as string));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

test('approvers listing the role "approver" are met by a caller holding it', async () => {
  const runId = await startGated({ approvers: ['approver'] });
  const refused = await decide(runId, 'ed');
  assert.equal(refused.status, 403, JSON.stringify(refused.body)); // editors lack the approve permission
  assert.equal((await decide(runId, 'ann')).status, 202);
  const outcome = await resultOf(runId);
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(outcome.result.decision, { approved: true, by: 'key:ann', comment: null });
});

test('an admin holds every role; a caller id is matched as it is', async () => {
  const byRole = await startGated({ approvers: ['editor'] });
  const notEditor = await decide(byRole, 'ann');
  assert.equal(notEditor.status, 409);
  assert.match(
    notEditor.body.error.message,
    /"key:ann" is not an approver .*role "editor".*its roles: viewer, approver/,
  );
  assert.equal((await decide(byRole, 'admin')).status, 202);
  assert.equal((await resultOf(byRole)).status, 'completed');

  const byId = await startGated({ approvers: ['key:bob'] });
  assert.equal((await decide(byId, 'ann')).status, 409);
  assert.equal((await decide(byId, 'bob')).status, 202);
  assert.equal((await resultOf(byId)).result.decision.by, 'key:bob');
});

test('a quorum of two distinct approvers, without the run starter', async () => {
  const runId = await startGated({ approvers: ['approver'], quorum: 2, forbid_self_approval: true });
  const self = await decide(runId, 'starter');
  assert.equal(self.status, 409);
  assert.equal(
    self.body.error.message,
    '"key:starter" started this run and node "review" forbids self-approval (forbid_self_approval): another approver must decide',
  );
  assert.equal((await decide(runId, 'ann')).status, 202);
  const again = await decide(runId, 'ann');
  assert.equal(again.status, 409);
  assert.equal(
    again.body.error.message,
    '"key:ann" has already approved node "review": it needs 2 distinct approvers (1 so far)',
  );
  const state = await stack.call('GET', `/v1/runs/${runId}`, undefined, bearer(keys.admin as string));
  assert.equal(state.body.nodes.review.status, 'waiting');
  assert.equal((await decide(runId, 'bob')).status, 202);
  const outcome = await resultOf(runId);
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(
    outcome.result.decision.approvals.map((a: { by: string }) => a.by),
    ['key:ann', 'key:bob'],
  );
});

test('one rejection rejects a quorum', async () => {
  const runId = await startGated({ quorum: 2 });
  assert.equal((await decide(runId, 'ann')).status, 202);
  assert.equal((await decide(runId, 'bob', false)).status, 202);
  const outcome = await resultOf(runId);
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.error.type, 'Rejected');
});
