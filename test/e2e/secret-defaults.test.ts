/**
 * Secret variables' `default` values are never returned by a route that reads definitions back:
 * the definition, one version, a diff of two versions, the change history's diffs. They are
 * shown as "***"; non-secret defaults stay as they are, and runs still use the real default.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';

let stack: TestStack;
let target: HttpTarget;
before(async () => {
  stack = await startTestStack();
  target = await startHttpTarget({ '/login': (_req, res) => json(res, 200, { ok: true }) });
});
after(async () => {
  await stack?.close();
  await target?.close();
});

const SECRET = `MARKER-${randomBytes(8).toString('hex')}`;
const NEXT_SECRET = `MARKER-${randomBytes(8).toString('hex')}`;

const definition = (id: string, secret: string, name: string) => ({
  id,
  name,
  variables: [
    { name: 'pw', type: 'string', secret: true, default: secret },
    { name: 'region', type: 'string', default: 'eu-1' },
  ],
  nodes: [
    {
      id: 'login',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/login`, method: 'POST', body: { password: '{{ vars.pw }}', run: name } },
    },
  ],
});

describe('secret variable defaults', () => {
  test('no definition read route returns them; runs still use them', async () => {
    const id = unique('secret-defaults');
    assert.equal((await stack.call('POST', '/v1/definitions', definition(id, SECRET, 'one'))).status, 201);
    // The second version changes the secret default: its diff must not show either value.
    const second = definition(id, NEXT_SECRET, 'two');
    assert.equal((await stack.call('POST', '/v1/definitions', second)).status, 201);

    const reads = [
      `/v1/definitions/${id}`,
      `/v1/definitions/${id}/versions`,
      `/v1/definitions/${id}/versions/1`,
      `/v1/definitions/${id}/versions/2`,
      `/v1/definitions/${id}/versions/1/diff/2`,
      `/v1/definitions/${id}/versions/2/diff/1`,
      `/v1/definitions/${id}/history`,
      `/v1/definitions`,
    ];
    for (const path of reads) {
      const { status, body } = await stack.call('GET', path);
      assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
      const text = JSON.stringify(body);
      assert.ok(!text.includes(SECRET) && !text.includes(NEXT_SECRET), `${path} returned a secret default: ${text}`);
    }

    const read = await stack.call('GET', `/v1/definitions/${id}/versions/1`);
    assert.deepEqual(read.body.variables, [
      { name: 'pw', type: 'string', secret: true, default: '***' },
      { name: 'region', type: 'string', default: 'eu-1' },
    ]);
    const diff = await stack.call('GET', `/v1/definitions/${id}/versions/1/diff/2`);
    const variables = diff.body.fields.find((f: any) => f.field === 'variables');
    assert.ok(variables, 'the diff says the variables changed');
    assert.equal(variables.before[0].default, '***');
    assert.equal(variables.after[0].default, '***');
    const history = await stack.call('GET', `/v1/definitions/${id}/history`);
    const submitted = history.body.items.find((e: any) => e.action === 'submitted' && e.version === '2');
    assert.equal(submitted.diff.fields.find((f: any) => f.field === 'variables').after[0].default, '***');

    // The stored definition keeps the value: a run of version 2 sees it.
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    const sent = target.requests.filter((r) => r.path === '/login').map((r) => JSON.parse(r.body));
    assert.deepEqual(sent, [{ password: NEXT_SECRET, run: 'two' }]);
  });
});

describe('secret tainting through the gateway', () => {
  test('GET /v1/runs/{id} and the result mask values derived from a secret variable', async () => {
    const id = unique('secret-taint');
    const derived = {
      id,
      variables: [
        { name: 'pw', type: 'string', secret: true },
        { name: 'shout', type: 'string' },
      ],
      nodes: [{ id: 'upper', type: 'set', assign: { shout: '$uppercase(vars.pw)' } }],
    };
    assert.equal((await stack.call('POST', '/v1/definitions', derived)).status, 201);
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { pw: SECRET } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    const state = await stack.call('GET', `/v1/runs/${started.body.run_id}`);
    assert.equal(state.status, 200);
    assert.equal(state.body.variables.shout, '***');
    for (const body of [state.body, result.body]) {
      const text = JSON.stringify(body);
      assert.ok(!text.includes(SECRET.toUpperCase()) && !text.includes(SECRET), text);
    }
  });
});
