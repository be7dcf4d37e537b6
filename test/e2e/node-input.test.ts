/**
 * `GET /v1/runs/{run_id}/nodes/{node}/input` over HTTP: a real gateway, worker and Temporal
 * server with encrypted payloads (so the answer is read through the payload codec) run a
 * definition whose task calls a real local HTTP target. The answer is the task's rendered
 * params (templates resolved from the run input), with a secret-derived param as `***`; a map
 * node answers its item calls; an AI node its prompt (masked when tainted); a subworkflow its child's input (a map of them, each item's index);
 * a set node made no call; unknown nodes and runs are not found.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseCodecKeys } from '../../src/codec/aes-gcm-codec.js';
import { codecFromKeys } from '../../src/codec/data-converter.js';
import type { DefinitionStore } from '../../src/store/definition-store.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const TOKEN = 'tok-7f3a9c-secret';

let target: HttpTarget;
let stack: TestStack;
let definitions: DefinitionStore;
let worker: RunningWorker;
let openai: FakeOpenAi;
const seen: string[] = [];

before(async () => {
  target = await startHttpTarget({
    '/price': (req, res) => {
      seen.push(String(req.headers['x-signature'] ?? ''));
      json(res, 200, { sku: req.query.sku, price: 12.5 });
    },
  });
  openai = await startFakeOpenAi();
  const codecKeys = `k1:${randomBytes(32).toString('base64')}`;
  stack = await startTestStack({ worker: false, env: { WEFT_CODEC_KEYS: codecKeys } });
  definitions = await openDefinitionStore(stack.config.databaseUrl);
  worker = await startWorker({
    address: stack.config.temporalAddress,
    namespace: stack.config.namespace,
    taskQueue: stack.config.taskQueue,
    definitions,
    codec: codecFromKeys(parseCodecKeys(codecKeys)),
    activityDeps: { ai: { baseURL: openai.url, apiKey: openai.apiKey } },
  });
});

after(async () => {
  await worker?.shutdown();
  await definitions?.close();
  await stack?.close();
  await target?.close();
  await openai?.close();
});

function pricing(id: string) {
  return {
    id,
    variables: [
      { name: 'sku', type: 'string', required: true },
      { name: 'skus', type: 'array', default: [] },
      { name: 'token', type: 'string', required: true, secret: true },
      { name: 'signature', type: 'string' },
    ],
    nodes: [
      // Derived from the secret, not equal to it: only the taint analysis knows to mask it.
      { id: 'sign', type: 'set', assign: { signature: '$uppercase(vars.token) & "-SIG"' } },
      {
        id: 'price',
        type: 'task',
        name: 'look up the price',
        connector: 'http',
        action: 'request',
        output: 'quote',
        inputs: {
          url: `${target.url}/price`,
          query: { sku: '{{ vars.sku }}', note: 'sku {{ vars.sku }}' },
          headers: { 'x-signature': '{{ vars.signature }}' },
        },
      },
      {
        id: 'each',
        type: 'map',
        items: 'vars.skus',
        output: 'quotes',
        task: {
          connector: 'http',
          action: 'request',
          inputs: { url: `${target.url}/price`, query: { sku: '{{ item }}' } },
        },
      },
    ],
    edges: [
      { from: 'sign', to: 'price' },
      { from: 'price', to: 'each' },
    ],
  };
}

describe('a node’s resolved input', () => {
  let runId: string;
  let id: string;

  before(async () => {
    id = unique('node-input');
    assert.equal((await stack.call('POST', '/v1/definitions', pricing(id))).status, 201);
    const input = { sku: 'A-1', skus: ['B-1', 'B-2', 'B-3'], token: TOKEN };
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    runId = started.body.run_id as string;
    const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  });

  test('a task answers its params with the templates resolved and the secret-derived one masked', async () => {
    assert.ok(seen.includes(`${TOKEN.toUpperCase()}-SIG`), 'the target got the real signature');
    const answer = await stack.call('GET', `/v1/runs/${runId}/nodes/price/input`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.run_id, runId);
    assert.equal(answer.body.node, 'price');
    assert.equal(answer.body.node_type, 'task');
    assert.equal(answer.body.kind, 'activity');
    assert.equal(answer.body.calls, 1);
    assert.ok(!Number.isNaN(Date.parse(answer.body.scheduled_at)), answer.body.scheduled_at);
    assert.deepEqual(answer.body.input, {
      url: `${target.url}/price`,
      query: { sku: 'A-1', note: 'sku A-1' },
      headers: { 'x-signature': '***' },
    });
    const text = JSON.stringify(answer.body);
    assert.ok(!text.includes(TOKEN) && !text.includes(TOKEN.toUpperCase()), text);
    // As the state view masks the variable the value came from.
    const state = await stack.call('GET', `/v1/runs/${runId}`);
    assert.equal(state.body.variables.signature, '***');
  });

  test('a map node answers its item calls, oldest first, the last one as its input', async () => {
    const answer = await stack.call('GET', `/v1/runs/${runId}/nodes/each/input`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.node_type, 'map');
    assert.equal(answer.body.calls, 3);
    assert.deepEqual(
      answer.body.items.map((item: any) => [item.kind, item.input.query.sku]),
      [
        ['activity', 'B-1'],
        ['activity', 'B-2'],
        ['activity', 'B-3'],
      ],
    );
    assert.deepEqual(answer.body.input, answer.body.items[2].input);
  });

  test('a set node made no call: input null, with the reason', async () => {
    const answer = await stack.call('GET', `/v1/runs/${runId}/nodes/sign/input`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.node_type, 'set');
    assert.equal(answer.body.input, null);
    assert.equal(answer.body.calls, 0);
    assert.match(answer.body.reason, /set node is evaluated by the engine and makes no call/);
  });

  test('a subworkflow answers its child run input; a map of them each item with its index', async () => {
    const child = unique('node-input-child');
    const stored = await stack.call('POST', '/v1/definitions', {
      id: child,
      variables: [{ name: 'sku', type: 'string', required: true }],
      nodes: [{ id: 'done', type: 'end', result: 'vars.sku' }],
    });
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    const parent = unique('node-input-parent');
    const submitted = await stack.call('POST', '/v1/definitions', {
      id: parent,
      variables: [
        { name: 'sku', type: 'string', required: true },
        { name: 'skus', type: 'array', default: [] },
      ],
      nodes: [
        { id: 'one', type: 'subworkflow', definition: child, inputs: { sku: 'child {{ vars.sku }}' } },
        {
          id: 'many',
          type: 'map',
          items: 'vars.skus',
          subworkflow: { definition: child, inputs: { sku: '{{ item }}' } },
        },
      ],
      edges: [{ from: 'one', to: 'many' }],
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const started = await stack.call('POST', `/v1/definitions/${parent}/runs`, {
      input: { sku: 'C-1', skus: ['D-0', 'D-1'] },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const parentRun = started.body.run_id as string;
    const result = await stack.call('GET', `/v1/runs/${parentRun}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));

    const one = await stack.call('GET', `/v1/runs/${parentRun}/nodes/one/input`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.kind, 'child');
    assert.deepEqual(one.body.input, { sku: 'child C-1' });
    const many = await stack.call('GET', `/v1/runs/${parentRun}/nodes/many/input`);
    assert.equal(many.status, 200, JSON.stringify(many.body));
    assert.equal(many.body.calls, 2);
    // Oldest first is history order: two children started in one task may be in either order.
    assert.deepEqual(
      many.body.items.map((item: any) => [item.kind, item.index, item.input]).sort((a: any[], b: any[]) => a[1] - b[1]),
      [
        ['child', 0, { sku: 'D-0' }],
        ['child', 1, { sku: 'D-1' }],
      ],
    );
  });

  test("an AI node answers model and prompt; a tainted one's prompt is masked", async () => {
    const ai = unique('node-input-ai');
    const stored = await stack.call('POST', '/v1/definitions', {
      id: ai,
      variables: [
        { name: 'name', type: 'string', required: true },
        { name: 'token', type: 'string', required: true, secret: true },
      ],
      nodes: [
        { id: 'greet', type: 'ai', model: 'gpt-4o-mini', prompt_template: 'Greet {{ vars.name }}', output: 'hello' },
        { id: 'leak', type: 'ai', model: 'gpt-4o-mini', prompt_template: 'Keep {{ vars.token }}', output: 'kept' },
      ],
      edges: [{ from: 'greet', to: 'leak' }],
    });
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    openai.enqueue({ content: 'hi' }, { content: 'kept' });
    const started = await stack.call('POST', `/v1/definitions/${ai}/runs`, { input: { name: 'Ada', token: TOKEN } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const aiRun = started.body.run_id as string;
    const result = await stack.call('GET', `/v1/runs/${aiRun}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));

    const greet = await stack.call('GET', `/v1/runs/${aiRun}/nodes/greet/input`);
    assert.equal(greet.status, 200, JSON.stringify(greet.body));
    assert.equal(greet.body.node_type, 'ai');
    assert.deepEqual(greet.body.input, { model: 'gpt-4o-mini', prompt: 'Greet Ada' });
    const leak = await stack.call('GET', `/v1/runs/${aiRun}/nodes/leak/input`);
    assert.equal(leak.status, 200, JSON.stringify(leak.body));
    assert.deepEqual(leak.body.input, { model: 'gpt-4o-mini', prompt: '***' });
    assert.ok(!JSON.stringify(leak.body).includes(TOKEN));
  });

  test('an unknown node and an unknown run are not found, named', async () => {
    const node = await stack.call('GET', `/v1/runs/${runId}/nodes/nope/input`);
    assert.equal(node.status, 404);
    assert.equal(node.body.error.code, 'not_found');
    assert.match(node.body.error.message, /node "nope"/);
    const missing = unique('no-such-run');
    const run = await stack.call('GET', `/v1/runs/${missing}/nodes/price/input`);
    assert.equal(run.status, 404);
    assert.equal(run.body.error.code, 'not_found');
    assert.match(run.body.error.message, new RegExp(`run "${missing}"`));
  });
});
