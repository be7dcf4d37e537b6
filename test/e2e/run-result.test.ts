/**
 * A run's result through the gateway: by default its final variables (an http task's `output`
 * holds the whole response, headers included); `options.result` returns exactly what it says.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';

let stack: TestStack;
let target: HttpTarget;
before(async () => {
  target = await startHttpTarget({ '/lead': (_req, res) => json(res, 200, { score: 7, name: 'Ada' }) });
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
  await target?.close();
});

async function resultOf(options: Record<string, unknown>): Promise<any> {
  const id = unique('result');
  const submitted = await stack.call('POST', '/v1/definitions', {
    id,
    nodes: [
      {
        id: 'fetch',
        type: 'task',
        connector: 'http',
        action: 'request',
        output: 'lead',
        inputs: { url: `${target.url}/lead` },
      },
      { id: 'grade', type: 'set', assign: { hot: 'vars.lead.body.score > 5' } },
    ],
    edges: [{ from: 'fetch', to: 'grade' }],
    options,
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {});
  const answer = await stack.call('GET', `/v1/runs/${started.body.run_id as string}/result?wait=true`);
  assert.equal(answer.body.status, 'completed', JSON.stringify(answer.body));
  return answer.body.result;
}

test('the default result is the final variables', async () => {
  const result = await resultOf({});
  assert.deepEqual(Object.keys(result).sort(), ['hot', 'lead']);
  assert.equal(result.hot, true);
  assert.deepEqual(Object.keys(result.lead).sort(), ['body', 'headers', 'status']);
});

test('options.result sets the result', async () => {
  assert.deepEqual(await resultOf({ result: '{ "name": vars.lead.body.name, "hot": vars.hot }' }), {
    name: 'Ada',
    hot: true,
  });
});

test('options.result naming an unknown variable is refused at submit', async () => {
  const refused = await stack.call('POST', '/v1/definitions/validate', {
    id: 'bad-result',
    nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
    options: { result: 'vars.y' },
  });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.details[0].path, '/options/result');
});
