/**
 * Flow control over HTTP: `resource_limits` fields weft does not enforce are refused at submit
 * with a problem at their pointer (never accepted and ignored), the served JSON Schema says so,
 * and `GET /v1/runs/{id}` shows a run waiting for a permit with its key and place in line.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/worker-process.js';

let stack: TestStack;
let target: HttpTarget;
const held: ServerResponse[] = [];

before(async () => {
  target = await startHttpTarget({ '/held': (_req, res) => void held.push(res) });
  stack = await startTestStack();
});
after(async () => {
  for (const res of held) res.destroy();
  await stack?.close();
  await target?.close();
});

const definition = (id: string, limits: Record<string, unknown>) => ({
  id,
  variables: [{ name: 'customer', type: 'string', default: 'acme' }],
  nodes: [
    {
      id: 'call',
      type: 'task',
      connector: 'http',
      action: 'request',
      resource_limits: limits,
      inputs: { url: `${target.url}/held`, timeout: '120s' },
    },
  ],
});

test('rate_per_second, burst and memory_mb are refused at submit and at /validate, each at its pointer', async () => {
  for (const path of ['/v1/definitions', '/v1/definitions/validate']) {
    const refused = await stack.call(
      'POST',
      path,
      definition(unique('refused'), { max_concurrency: 2, rate_per_second: 2, burst: 4, memory_mb: 256 }),
    );
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'validation_failed');
    const problems = refused.body.error.details as Array<{ path: string; message: string }>;
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    assert.match(byPath.get('/nodes/0/resource_limits/rate_per_second') ?? '', /not supported yet/);
    assert.match(byPath.get('/nodes/0/resource_limits/burst') ?? '', /not supported yet/);
    assert.match(byPath.get('/nodes/0/resource_limits/memory_mb') ?? '', /not supported/);
  }
});

test('the served JSON Schema describes what resource_limits does', async () => {
  const schema = await stack.call('GET', '/v1/schema/definition.json');
  const text = JSON.stringify(schema.body);
  assert.match(text, /across all runs of the definition/);
  assert.match(text, /concurrency_key/);
  assert.match(text, /Not supported yet: refused at submit/);
});

test('GET /v1/runs/{id} shows a run waiting for a permit, with its key and place in line', async () => {
  const id = unique('flow');
  const submitted = await stack.call(
    'POST',
    '/v1/definitions',
    definition(id, { max_concurrency: 1, concurrency_key: 'vars.customer' }),
  );
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const first = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  await until(() => held.length === 1, 120_000, 'the first call');
  const second = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: {} });
  let state: any;
  const deadline = Date.now() + 120_000;
  for (;;) {
    state = (await stack.call('GET', `/v1/runs/${second.body.run_id}`)).body;
    if (state.nodes?.call?.permit?.position !== undefined || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(state.nodes.call.status, 'waiting', JSON.stringify(state));
  assert.deepEqual(state.nodes.call.permit, { key: 'acme', position: 1, waiting: 1 });
  for (const res of held.splice(0)) json(res, 200, {});
  await until(() => held.length === 1, 120_000, 'the second call');
  for (const res of held.splice(0)) json(res, 200, {});
  for (const run of [first, second]) {
    const result = await stack.call('GET', `/v1/runs/${run.body.run_id}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  }
});
