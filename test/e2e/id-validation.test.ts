/**
 * Identifiers that become part of a workflow id or a store key are checked where they enter:
 * an `event_id` with a "/" (which made the run an event trigger starts act for another tenant:
 * the tenant of a workflow id is the part before its first "/") or too long for the run id it
 * makes is refused with 400 naming the field, and starts nothing; a run id in a control route's
 * path that no run could have is not found. A valid event id still starts a run one can read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pluck, startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

describe('identifiers are validated at every boundary', () => {
  let stack: TestStack;
  const type = unique('id.checked');
  const id = unique('on-id');

  before(async () => {
    stack = await startTestStack();
    const submitted = await stack.call('POST', '/v1/definitions', {
      id,
      variables: [{ name: 'n', type: 'number', default: 0 }],
      triggers: [{ type: 'event', event_type: type }],
      nodes: [{ id: 'inc', type: 'set', assign: { n: 'vars.n + 1' } }],
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  });

  after(async () => {
    await stack?.close();
  });

  test('an event_id with "/", or one too long for a run id, is refused naming the field and starts nothing', async () => {
    for (const eventId of ['acme/evt-1', '../evt', 'evt/', '/evt', 'a'.repeat(129), 'evt 1', '-evt', '']) {
      const response = await stack.call('POST', '/v1/events', { event_type: type, payload: {}, event_id: eventId });
      assert.equal(response.status, 400, `${eventId}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'validation_failed');
      assert.deepEqual(pluck(response.body.error.details, 'path'), ['/event_id'], eventId);
    }
    const listed = await stack.call('GET', `/v1/runs?definition_id=${id}`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.items, [], 'no run was started');
  });

  test('a valid event id of the longest length starts a run whose id is a run id', async () => {
    const eventId = `E.v_t:1-${'x'.repeat(120)}`;
    const response = await stack.call('POST', '/v1/events', { event_type: type, payload: {}, event_id: eventId });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.deepEqual(response.body.started, [`${id}-event-${eventId}`]);
    const result = await stack.call('GET', `/v1/runs/${response.body.started[0]}/result?wait=true`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.result.n, 1);
  });

  test('a run id in a body or a path is checked by the same rule', async () => {
    const start = await stack.call('POST', `/v1/definitions/${id}/runs`, { run_id: 'acme/r1' });
    assert.equal(start.status, 400);
    assert.deepEqual(pluck(start.body.error.details, 'path'), ['/run_id']);
    for (const action of ['cancel', 'pause', 'resume']) {
      const response = await stack.call('POST', `/v1/runs/${'r'.repeat(201)}/${action}`, {});
      assert.equal(response.status, 404, JSON.stringify(response.body));
      assert.match(response.body.error.message, /not found/);
    }
    const patch = await stack.call('PATCH', `/v1/runs/-r1/variables`, { variables: {} });
    assert.equal(patch.status, 404, JSON.stringify(patch.body));
  });
});
