/**
 * Task inputs are checked against the connector action's params schema at submit time, as far
 * as they are known then: literals are judged, templates and secret references are left for
 * run time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ worker: false });
});
after(async () => {
  await stack?.close();
});

const task = (inputs: Record<string, unknown>, connector = 'http', action = 'request') => ({
  id: 'params',
  variables: [{ name: 'u', type: 'string' }],
  nodes: [{ id: 'call', type: 'task', connector, action, inputs }],
});

test("the OpenAPI document shows every connector action's params", async () => {
  const doc = (await stack.call('GET', '/v1/openapi.json')).body;
  const schemas = doc.components.schemas as Record<
    string,
    { properties?: Record<string, unknown>; required?: string[] }
  >;
  for (const name of [
    'http_request',
    'postgres_query',
    'postgres_transaction',
    'nats_publish',
    'redis_get',
    'email_send',
  ]) {
    assert.ok(schemas[`ConnectorParams_${name}`], name);
  }
  assert.ok(schemas.ConnectorParams_http_request?.properties?.url);
  assert.ok(schemas.ConnectorParams_http_request?.required?.includes('url'));
});

test('literal inputs that cannot work are refused at the field; templates and secrets pass', async () => {
  const bad = await stack.call('POST', '/v1/definitions/validate', task({ urll: 'x', method: 'FETCH' }));
  assert.equal(bad.status, 400);
  const byPath = new Map(
    (bad.body.error.details as Array<{ path: string; message: string }>).map((d) => [d.path, d.message]),
  );
  assert.match(byPath.get('/nodes/0/inputs') ?? '', /urll/);
  assert.ok(byPath.has('/nodes/0/inputs/method'), JSON.stringify([...byPath]));
  assert.ok(byPath.has('/nodes/0/inputs/url'), JSON.stringify([...byPath]));

  const notUrl = await stack.call('POST', '/v1/definitions/validate', task({ url: 'not a url' }));
  assert.equal(notUrl.body.error.details[0].path, '/nodes/0/inputs/url');

  const sql = await stack.call('POST', '/v1/definitions/validate', task({ sql: 42 }, 'postgres', 'query'));
  assert.equal(sql.body.error.details[0].path, '/nodes/0/inputs/sql');

  for (const inputs of [
    { url: '{{ vars.u }}' },
    { url: 'http://example.test/{{ vars.u }}', headers: { authorization: 'secret:API_TOKEN' } },
    { url: 'https://example.test', query: '{{ {"q": vars.u} }}' },
  ]) {
    const ok = await stack.call('POST', '/v1/definitions/validate', task(inputs));
    assert.equal(ok.status, 200, `${JSON.stringify(inputs)}: ${JSON.stringify(ok.body)}`);
  }
});
