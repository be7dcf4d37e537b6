/**
 * Issue 13 through the real gateway: the mistakes that used to be accepted and then silently did
 * the wrong thing are refused by `POST /v1/definitions` and `/validate` with JSON Pointers;
 * warnings come beside a valid answer and do not stop a submit; `"$schema"` is accepted and not
 * stored; a body that is not JSON is answered with the line and column where it stops being JSON.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ worker: false });
});
after(async () => {
  await stack?.close();
});

const http = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: 'http://x.test' },
  ...extra,
});

/**
 * The five silent mistakes of the issue in one order flow: four are refused; the misspelt
 * undeclared `set` is a warning (see below), returned only with a valid answer.
 */
function silentMistakes(id: string) {
  return {
    id,
    variables: [
      { name: 'order_id', type: 'string' },
      { name: 'customer', type: 'string' },
    ],
    nodes: [
      { id: 'classify', type: 'condition', expression: '$.order_id != null' },
      http('hot', { inputs: { url: 'http://x.test', body: { id: '{{ $json.order_id }}' } } }),
      http('cold'),
      http('refund'),
      { id: 'note', type: 'set', assign: { custmer: '"seen"' } },
    ],
    edges: [
      { from: 'classify', to: 'hot', when: "output = 'hot'" },
      { from: 'classify', to: 'cold', default: true },
      { from: 'hot', to: 'note' },
      { from: 'cold', to: 'refund' },
    ],
    error_handlers: [{ id: 'undo', match: { node: 'charge' }, action: 'compensate' }],
  };
}

const EXPECTED_PROBLEMS = [
  {
    path: '/error_handlers/0/match/node',
    message: 'match.node names an unknown node "charge"',
  },
  {
    path: '/nodes/0/expression',
    message:
      '"$.order_id": "$" is the whole evaluation context ("vars", "input", "nodes" and "run"), which has no "order_id"; did you mean "input.order_id"?',
  },
  {
    path: '/nodes/1/inputs/body/id',
    message:
      '"$json" is not defined: weft has no "$json" (as n8n has); name the data by where it lives ("vars", "input", "nodes" and "run"); did you mean "input.order_id"?',
  },
  {
    path: '/edges/0/when',
    message:
      'unknown name "output": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "nodes.classify.output"?',
  },
];

test('the silent mistakes are refused by validate and by submit, and nothing is stored', async () => {
  const id = unique('silent');
  for (const path of ['/v1/definitions/validate', '/v1/definitions']) {
    const answer = await stack.call('POST', path, silentMistakes(id));
    assert.equal(answer.status, 400, path);
    assert.equal(answer.body.error.code, 'validation_failed');
    assert.deepEqual(answer.body.error.details, EXPECTED_PROBLEMS, path);
  }
  assert.equal((await stack.call('GET', `/v1/definitions/${id}`)).status, 404);
});

test('a map body gets the checks of a node: a broken system template of a map+ai body is refused', async () => {
  const answer = await stack.call('POST', '/v1/definitions/validate', {
    id: unique('map-ai'),
    variables: [{ name: 'docs', type: 'array' }],
    nodes: [
      {
        id: 'each',
        type: 'map',
        items: 'vars.docs',
        ai: { model: 'fast', prompt_template: 'Summarise {{ itm.text }}', system: 'You are {{ vars. }}' },
      },
    ],
  });
  assert.equal(answer.status, 400);
  assert.deepEqual(answer.body.error.details, [
    {
      path: '/nodes/0/ai/system',
      message: 'invalid JSONata expression "vars.": Unexpected end of expression at position 5',
    },
    {
      path: '/nodes/0/ai/prompt_template',
      message:
        'unknown name "itm": expressions read "vars", "input", "nodes", "run", "item" and "index" ("error" only on error paths); did you mean "item.text"?',
    },
  ]);
});

test('warnings come beside a valid answer; submit succeeds with them; "$schema" is accepted and not stored', async () => {
  const id = unique('warned');
  const definition = {
    $schema: `${stack.gateway.url}/v1/schema/definition.json`,
    id,
    variables: [{ name: 'customer', type: 'string' }],
    nodes: [
      { id: 'classify', type: 'condition', expression: 'vars.customer = "ada"' },
      { id: 'greet', type: 'set', assign: { custmer: '"hello"' } },
    ],
    edges: [{ from: 'classify', to: 'greet', when: 'true' }],
    error_handlers: [
      { id: 'all', action: 'terminate' },
      { id: 'greet-only', match: { node: 'greet' }, action: 'continue' },
    ],
  };
  const warnings = [
    {
      path: '/nodes/1/assign/custmer',
      message:
        'variable "custmer" is not declared in "variables", so it is of type any and the run\'s input cannot set it; did you mean "customer"?',
    },
    {
      path: '/error_handlers/1',
      message:
        'handler "greet-only" is never used: handler "all" (/error_handlers/0) comes first and matches every failure it matches',
    },
    {
      path: '/nodes/0',
      message:
        'condition "classify": every outgoing edge has a "when" and none is "default": true, so when none holds the branch ends here silently; mark one edge as the default',
    },
    {
      path: '/edges/0/when',
      message:
        '"when" is constant (it reads no vars, input or nodes), so it gives the same answer in every run; write the condition, or drop "when" to always follow the edge',
    },
  ];
  const validated = await stack.call('POST', '/v1/definitions/validate', definition);
  assert.equal(validated.status, 200);
  assert.deepEqual(validated.body, { valid: true, warnings });

  const submitted = await stack.call('POST', '/v1/definitions', definition);
  assert.equal(submitted.status, 201);
  assert.deepEqual(submitted.body, { id, version: '1', created: true, warnings });
  const stored = await stack.call('GET', `/v1/definitions/${id}`);
  assert.equal(stored.status, 200);
  assert.equal('$schema' in stored.body, false);
  // Without "$schema" it is the same content: nothing new is stored.
  const { $schema: _ignored, ...same } = definition;
  const again = await stack.call('POST', '/v1/definitions', same);
  assert.equal(again.status, 200);
  assert.equal(again.body.created, false);

  const clean = await stack.call('POST', '/v1/definitions/validate', { id: unique('clean'), nodes: [http('a')] });
  assert.deepEqual(clean.body, { valid: true, warnings: [] });

  const schema = await stack.call('GET', '/v1/schema/definition.json');
  assert.equal(schema.body.properties.$schema.type, 'string');
  const badSchema = await stack.call('POST', '/v1/definitions/validate', { ...same, $schema: 3 });
  assert.deepEqual(badSchema.body.error.details, [
    { path: '/$schema', message: 'expected the URI of a JSON Schema (a string)' },
  ]);
});

test('a body that is not JSON is answered with the line and column where it stops being JSON', async () => {
  const answer = await stack.call(
    'POST',
    '/v1/definitions/validate',
    '{\n  "id": "x",\n  "nodes": [\n    {"id": "a"}\n    {"id": "b"}\n  ]\n}',
  );
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error.code, 'validation_failed');
  assert.deepEqual(answer.body.error.details, [
    { path: '', message: 'the body is not valid JSON: at line 5, column 5, expected "," or "]"' },
  ]);
  const cut = await stack.call('POST', '/v1/definitions', '{"id": ');
  assert.deepEqual(cut.body.error.details, [
    { path: '', message: 'the body is not valid JSON: at line 1, column 8, expected a value, but the body ends there' },
  ]);
});
