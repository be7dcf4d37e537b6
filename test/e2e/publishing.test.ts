/**
 * Four-eyes publishing and the change history, through a real gateway and worker: with the
 * tenant's `four_eyes` on, a submitted version becomes active only when an approver other than
 * its author approves it, and the history says who did what, with diffs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway } from '../../src/gateway/server.js';
import { createLogger } from '../../src/logger.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const greeting = (text: string) => ({
  id: 'greeting',
  variables: [{ name: 'said', type: 'string' }],
  nodes: [{ id: 'say', type: 'set', assign: { said: JSON.stringify(text) } }],
  edges: [],
});

describe('four-eyes publishing', () => {
  let stack: TestStack;
  let alice: string; // editor
  let bob: string; // approver
  let carol: string; // editor and approver
  let admin: string; // of the default tenant, where four-eyes is off

  before(async () => {
    stack = await startTestStack();
    admin = await createKey(stack, 'root', ['admin']);
    const tenant = unique('bank');
    await putTenant(stack, admin, tenant, { four_eyes: true });
    alice = await createKey(stack, 'alice', ['editor'], { adminKey: admin, tenant });
    bob = await createKey(stack, 'bob', ['approver'], { adminKey: admin, tenant });
    carol = await createKey(stack, 'carol', ['editor', 'approver'], { adminKey: admin, tenant });
  });

  after(async () => {
    await stack?.close();
  });

  test('a version is active only after another approver approves it; history records who did what', async () => {
    const v1 = await stack.call('POST', '/v1/definitions', greeting('hello'), bearer(carol));
    assert.equal(v1.status, 201);
    assert.deepEqual([v1.body.version, v1.body.approval], ['1', 'pending']);
    // Nothing is active yet: no run can start.
    assert.equal((await stack.call('GET', '/v1/definitions/greeting', undefined, bearer(alice))).status, 404);
    assert.equal((await stack.call('POST', '/v1/definitions/greeting/runs', {}, bearer(alice))).status, 404);
    const listed = await stack.call('GET', '/v1/definitions', undefined, bearer(alice));
    assert.deepEqual(listed.body.items, [{ id: 'greeting', latest_version: '1', active_version: null }]);

    // Its author may not approve it, whatever roles they hold; an editor has no approve permission.
    const own = await stack.call(
      'POST',
      '/v1/definitions/greeting/versions/1/approvals',
      { approved: true },
      bearer(carol),
    );
    assert.equal(own.status, 403);
    assert.match(own.body.error.message, /cannot approve/);
    const editor = await stack.call(
      'POST',
      '/v1/definitions/greeting/versions/1/approvals',
      { approved: true },
      bearer(alice),
    );
    assert.equal(editor.status, 403);
    assert.equal(
      (await stack.call('PUT', '/v1/definitions/greeting/active', { version: '1' }, bearer(carol))).status,
      409,
    );

    const approved = await stack.call(
      'POST',
      '/v1/definitions/greeting/versions/1/approvals',
      { approved: true, comment: 'fine' },
      bearer(bob),
    );
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.active_version, '1');
    const run1 = await stack.call('POST', '/v1/definitions/greeting/runs', {}, bearer(alice));
    const result1 = await stack.call('GET', `/v1/runs/${run1.body.run_id}/result?wait=true`, undefined, bearer(alice));
    assert.equal(result1.body.result.said, 'hello');

    // A second version waits while the first stays active; a rejection keeps it out.
    const v2 = await stack.call('POST', '/v1/definitions', greeting('hello again'), bearer(alice));
    assert.deepEqual([v2.status, v2.body.version, v2.body.approval], [201, '2', 'pending']);
    assert.equal((await stack.call('GET', '/v1/definitions/greeting', undefined, bearer(alice))).body.version, '1');
    const put = await stack.call('PUT', '/v1/definitions/greeting/active', { version: '2' }, bearer(alice));
    assert.equal(put.status, 409);
    assert.match(put.body.error.message, /four-eyes/);
    const rejected = await stack.call(
      'POST',
      '/v1/definitions/greeting/versions/2/approvals',
      { approved: false, comment: 'typo' },
      bearer(bob),
    );
    assert.deepEqual([rejected.status, rejected.body.active_version], [200, '1']);
    const approved2 = await stack.call(
      'POST',
      '/v1/definitions/greeting/versions/2/approvals',
      { approved: true },
      bearer(carol),
    );
    assert.deepEqual([approved2.status, approved2.body.active_version], [200, '2']);
    const run2 = await stack.call('POST', '/v1/definitions/greeting/runs', {}, bearer(alice));
    const result2 = await stack.call('GET', `/v1/runs/${run2.body.run_id}/result?wait=true`, undefined, bearer(alice));
    assert.equal(result2.body.result.said, 'hello again');

    const history = await stack.call('GET', '/v1/definitions/greeting/history', undefined, bearer(alice));
    assert.equal(history.status, 200);
    assert.deepEqual(
      history.body.items.map((e: { actor: string; action: string; version: string }) => [e.actor, e.action, e.version]),
      [
        ['key:carol', 'submitted', '1'],
        ['key:bob', 'approved', '1'],
        ['key:bob', 'activated', '1'],
        ['key:alice', 'submitted', '2'],
        ['key:bob', 'rejected', '2'],
        ['key:carol', 'approved', '2'],
        ['key:carol', 'activated', '2'],
      ],
    );
    const submitted2 = history.body.items[3];
    assert.ok(submitted2.diff, 'a submit after the first carries its diff');
    assert.match(JSON.stringify(submitted2.diff), /hello again/);
    assert.equal(history.body.items[4].comment, 'typo');
    for (const item of history.body.items) assert.ok(!Number.isNaN(Date.parse(item.at)));
  });

  test('turning four-eyes on through one gateway holds at once on another sharing the store', async () => {
    const other = await startGateway({ ...stack.config, port: 0 }, createLogger('gateway', 'silent'));
    try {
      const tenant = unique('shared');
      await putTenant(stack, admin, tenant);
      const editor = await createKey(stack, 'dora', ['editor'], { adminKey: admin, tenant });
      const submit = (text: string) =>
        fetch(`${other.url}/v1/definitions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(editor) },
          body: JSON.stringify(greeting(text)),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { approval?: string } }));
      const before = await submit('one');
      assert.deepEqual([before.status, before.body.approval], [201, undefined]);
      await putTenant(stack, admin, tenant, { four_eyes: true });
      const after = await submit('two');
      assert.deepEqual([after.status, after.body.approval], [201, 'pending']);
    } finally {
      await other.close();
    }
  });

  test('without four-eyes, submits activate at once and the history shows it', async () => {
    const id = unique('plain');
    const submitted = await stack.call('POST', '/v1/definitions', { ...greeting('x'), id }, bearer(admin));
    assert.equal(submitted.status, 201);
    assert.equal(submitted.body.approval, undefined);
    const history = await stack.call('GET', `/v1/definitions/${id}/history`, undefined, bearer(admin));
    assert.deepEqual(
      history.body.items.map((e: { action: string }) => e.action),
      ['submitted', 'activated'],
    );
  });
});
