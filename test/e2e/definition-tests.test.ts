/**
 * Definition tests (issue 15): `POST /v1/definitions/test` on a real gateway runs the real
 * engine with mocked answers (every node type, every error-handler action, mocked errors), and
 * `weft test` runs test files through it: exit 0 when every case passes, 1 with a readable diff
 * when one does not. Nothing is called: the connectors point at a local HTTP server that counts
 * the requests it gets, and it must get none.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allowEgress } from '../support/egress.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { runWeft } from '../support/weft-cli.js';
import { untilTrue } from '../support/poll.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

let stack: TestStack;
let target: HttpTarget;
let calls = 0;
let dir: string;

before(async () => {
  target = await startHttpTarget({
    '/count': (_req, res) => {
      calls++;
      json(res, 200, { ok: true });
    },
  });
  // The worker runs the one real run, whose node outcomes `weft runs export-mocks` exports.
  stack = await startTestStack();
  dir = mkdtempSync(join(tmpdir(), 'weft-deftests-'));
});
after(async () => {
  await stack?.close();
  await target?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const http = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: `${target.url}/count` },
  ...extra,
});

/** One definition with every node type: ai, task, subworkflow, map, event, approval, wait, set, condition, join, end. */
const everyNode = () => ({
  id: 'every-node',
  variables: [
    { name: 'order_id', type: 'string', required: true },
    { name: 'amount', type: 'number', default: 10 },
    { name: 'token', type: 'string', default: 'tok-secret-1', secret: true },
  ],
  nodes: [
    {
      id: 'classify',
      type: 'ai',
      model: 'gpt-4o-mini',
      prompt_template: 'Classify order {{ vars.order_id }}',
      output: 'label',
    },
    http('charge', { output: 'charged' }),
    {
      id: 'lookup',
      type: 'subworkflow',
      definition: 'customer-lookup',
      inputs: { id: '{{ vars.order_id }}' },
      output: 'customer',
    },
    { id: 'both', type: 'join', mode: 'all' },
    { id: 'big', type: 'condition', expression: 'vars.amount > 100' },
    { id: 'review', type: 'approval', timeout: '1d', output: 'decision' },
    { id: 'cool', type: 'wait', duration: '2h' },
    {
      id: 'lines',
      type: 'map',
      items: '[1, 2, 3]',
      task: { connector: 'http', action: 'request', inputs: { url: `${target.url}/count?item={{ item }}` } },
      output: 'shipped',
    },
    { id: 'paid', type: 'event', event_type: 'payment.settled', correlation_key: 'vars.order_id', output: 'payment' },
    {
      id: 'sum',
      type: 'set',
      assign: { total: '$sum(vars.shipped.n)', who: 'vars.customer.name', tag: 'vars.label.kind' },
    },
    { id: 'done', type: 'end', result: '{ "total": vars.total, "paid": vars.payment.amount, "token": vars.token }' },
  ],
  edges: [
    { from: 'classify', to: 'both' },
    { from: 'charge', to: 'both' },
    { from: 'lookup', to: 'both' },
    { from: 'both', to: 'big' },
    { from: 'big', to: 'review', when: 'nodes.big.output' },
    { from: 'big', to: 'cool', default: true },
    { from: 'review', to: 'lines' },
    { from: 'cool', to: 'lines' },
    { from: 'lines', to: 'paid' },
    { from: 'paid', to: 'sum' },
    { from: 'sum', to: 'done' },
  ],
});

const everyNodeMocks = {
  classify: { output: { kind: 'retail' } },
  charge: { output: { id: 'ch_1' } },
  lookup: { output: { name: 'Ada' } },
  review: { decision: 'approved', by: 'ann' },
  lines: { items: [{ output: { n: 1 } }, { output: { n: 2 } }, { output: { n: 4 } }] },
  paid: { event: { payload: { amount: 7 } } },
};

/** The saga and the other handler actions, on three tasks. */
const handlers = (action: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'handlers',
  variables: [{ name: 'note', type: 'string', default: 'none' }],
  nodes: [
    http('reserve', {
      output: 'reservation',
      compensation: { connector: 'http', action: 'request', inputs: { url: `${target.url}/count?undo=reserve` } },
    }),
    http('charge', {
      output: 'charge',
      compensation: { connector: 'http', action: 'request', inputs: { url: `${target.url}/count?undo=charge` } },
    }),
    http('ship', { output: 'shipment' }),
    { id: 'notify', type: 'set', assign: { note: '"shipped: " & $string(vars.shipment)' } },
  ],
  edges: [
    { from: 'reserve', to: 'charge' },
    { from: 'charge', to: 'ship' },
    { from: 'ship', to: 'notify' },
  ],
  error_handlers: [{ id: 'h', match: { node: 'ship' }, ...action }],
  ...extra,
});

interface Case {
  name: string;
  body: () => Record<string, unknown>;
  expect: {
    status: string;
    path: string[];
    variables?: Record<string, unknown>;
    result?: unknown;
    error?: Record<string, unknown>;
    nodes?: Record<string, Record<string, unknown>>;
    compensations?: unknown[];
  };
}

const shipFails = {
  reserve: { output: 'r1' },
  charge: { output: 'c1' },
  ship: { error: { type: 'HttpError', message: '503 from the carrier' } },
};

const CASES: Case[] = [
  {
    name: 'every node type: the large order is approved',
    body: () => ({ definition: everyNode(), input: { order_id: 'A-1', amount: 500 }, mocks: everyNodeMocks }),
    expect: {
      status: 'completed',
      path: ['classify', 'charge', 'lookup', 'both', 'big', 'review', 'lines', 'paid', 'sum', 'done'],
      variables: {
        total: 7,
        who: 'Ada',
        tag: 'retail',
        token: '***',
        decision: { approved: true, by: 'ann', comment: null },
      },
      // The end node reads the secret, so the whole result is masked, as in the run state.
      result: '***',
      nodes: { cool: { status: 'skipped' }, lines: { status: 'completed', output: [{ n: 1 }, { n: 2 }, { n: 4 }] } },
    },
  },
  {
    name: 'every node type: the small order waits (the timer fires at once)',
    body: () => ({ definition: everyNode(), input: { order_id: 'A-2' }, mocks: everyNodeMocks }),
    expect: {
      status: 'completed',
      path: ['classify', 'charge', 'lookup', 'both', 'big', 'cool', 'lines', 'paid', 'sum', 'done'],
      nodes: { review: { status: 'skipped' }, cool: { status: 'completed' } },
    },
  },
  {
    name: 'an unmocked ai node fails with NotMocked',
    body: () => ({
      definition: everyNode(),
      input: { order_id: 'A-3' },
      mocks: { ...everyNodeMocks, classify: undefined },
    }),
    expect: {
      status: 'failed',
      path: ['classify', 'charge', 'lookup'],
      error: { type: 'NotMocked', node: 'classify' },
    },
  },
  {
    name: 'a rejected approval fails the run',
    body: () => ({
      definition: everyNode(),
      input: { order_id: 'A-4', amount: 500 },
      mocks: { ...everyNodeMocks, review: { decision: 'rejected', by: 'bob', comment: 'too big' } },
    }),
    expect: {
      status: 'failed',
      path: ['classify', 'charge', 'lookup', 'both', 'big', 'review'],
      error: { type: 'Rejected', node: 'review', message: 'rejected by bob: too big' },
    },
  },
  {
    name: 'a map item error fails the map',
    body: () => ({
      definition: everyNode(),
      input: { order_id: 'A-5' },
      mocks: {
        ...everyNodeMocks,
        lines: { items: [{ output: { n: 1 } }, { error: { type: 'HttpError', message: 'gone' } }] },
      },
    }),
    expect: {
      status: 'failed',
      path: ['classify', 'charge', 'lookup', 'both', 'big', 'cool', 'lines'],
      error: { type: 'HttpError', node: 'lines', message: 'item 1: gone' },
    },
  },
  {
    name: 'handler compensate: the saga undoes charge, then reserve',
    body: () => ({
      definition: handlers({ action: 'compensate' }),
      mocks: { ...shipFails, charge: { output: 'c1', compensation: { error: { type: 'HttpError' } } } },
    }),
    expect: {
      status: 'failed',
      path: ['reserve', 'charge', 'ship'],
      error: { type: 'HttpError', node: 'ship', message: '503 from the carrier' },
      compensations: [
        { node: 'charge', status: 'failed' },
        { node: 'reserve', status: 'completed' },
      ],
    },
  },
  {
    name: 'handler retry: the node runs again and succeeds',
    body: () => ({
      definition: handlers({ action: 'retry', retry_policy: { initial_interval: '1h' } }),
      mocks: { ...shipFails, ship: { sequence: [{ error: { type: 'HttpError' } }, { output: { tracking: 'T1' } }] } },
    }),
    expect: {
      status: 'completed',
      path: ['reserve', 'charge', 'ship', 'ship', 'notify'],
      variables: { shipment: { tracking: 'T1' }, note: 'shipped: {"tracking":"T1"}' },
    },
  },
  {
    name: 'handler retry: the second failure falls back to on_failure (fail)',
    body: () => ({ definition: handlers({ action: 'retry' }), mocks: shipFails }),
    expect: {
      status: 'failed',
      path: ['reserve', 'charge', 'ship', 'ship'],
      error: { type: 'HttpError', node: 'ship' },
    },
  },
  {
    name: 'handler continue: the failed node yields null and the run goes on',
    body: () => ({ definition: handlers({ action: 'continue' }), mocks: shipFails }),
    expect: {
      status: 'completed',
      path: ['reserve', 'charge', 'ship', 'notify'],
      variables: { shipment: null },
      nodes: { ship: { status: 'failed' } },
    },
  },
  {
    name: 'handler goto: the failure jumps to the target with the error in scope',
    body: () => ({ definition: handlers({ action: 'goto', target: 'notify' }), mocks: shipFails }),
    expect: {
      status: 'completed',
      path: ['reserve', 'charge', 'ship', 'notify'],
      variables: { note: 'shipped: ' },
      nodes: { ship: { status: 'failed' } },
    },
  },
  {
    name: 'handler terminate wins over on_failure pause',
    body: () => ({
      definition: handlers({ action: 'terminate' }, { options: { on_failure: 'pause' } }),
      mocks: shipFails,
    }),
    expect: { status: 'failed', path: ['reserve', 'charge', 'ship'], error: { type: 'HttpError', node: 'ship' } },
  },
  {
    name: 'no matching handler and on_failure pause: the run pauses at the failed node',
    body: () => ({
      definition: handlers(
        { action: 'continue', match: { node: 'ship', error_type: 'Timeout' } },
        { options: { on_failure: 'pause' } },
      ),
      mocks: shipFails,
    }),
    expect: {
      status: 'paused',
      path: ['reserve', 'charge', 'ship'],
      nodes: { ship: { status: 'failed' }, notify: { status: 'pending' } },
    },
  },
  {
    name: 'an error edge catches a mocked error; an event timeout too',
    body: () => ({
      definition: {
        id: 'error-edge',
        nodes: [
          http('call'),
          { id: 'wait_pay', type: 'event', event_type: 'paid', correlation_key: '"k"', timeout: '1h' },
          { id: 'fallback', type: 'set', assign: { caught: 'error.type' } },
          { id: 'late', type: 'set', assign: { late: 'error.type' } },
        ],
        edges: [
          { from: 'call', to: 'fallback', on: 'error' },
          { from: 'fallback', to: 'wait_pay' },
          { from: 'wait_pay', to: 'late', on: 'error' },
        ],
      },
      mocks: { call: { error: { type: 'Timeout' } }, wait_pay: { timeout: true } },
    }),
    expect: {
      status: 'completed',
      path: ['call', 'fallback', 'wait_pay', 'late'],
      variables: { caught: 'Timeout', late: 'Timeout' },
    },
  },
  {
    name: 'a quorum of approvals, and an approver the node does not list is refused',
    body: () => ({
      definition: {
        id: 'quorum',
        nodes: [
          { id: 'two', type: 'approval', approvers: ['approver'], quorum: 2, output: 'd' },
          { id: 'only_ann', type: 'approval', approvers: ['key:ann'] },
        ],
        edges: [{ from: 'two', to: 'only_ann' }],
      },
      mocks: {
        two: { decision: 'approved', by: ['ann', 'bob'] },
        only_ann: { decision: 'approved', by: 'bob', roles: ['viewer'] },
      },
    }),
    expect: {
      status: 'failed',
      path: ['two', 'only_ann'],
      error: { type: 'MockRefused', node: 'only_ann' },
      nodes: { two: { status: 'completed' } },
    },
  },
];

describe('POST /v1/definitions/test', () => {
  for (const c of CASES)
    test(c.name, async () => {
      const response = await stack.call('POST', '/v1/definitions/test', c.body());
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const run = response.body;
      assert.equal(run.status, c.expect.status, JSON.stringify(run.error));
      assert.deepEqual(run.path, c.expect.path);
      for (const [name, value] of Object.entries(c.expect.variables ?? {}))
        assert.deepEqual(run.variables[name], value, name);
      if ('result' in c.expect) assert.deepEqual(run.result, c.expect.result);
      for (const [key, value] of Object.entries(c.expect.error ?? {}))
        assert.equal(run.error?.[key], value, `error.${key}`);
      if (!c.expect.error) assert.equal(run.error, undefined);
      for (const [id, fields] of Object.entries(c.expect.nodes ?? {}))
        for (const [key, value] of Object.entries(fields))
          assert.deepEqual(run.nodes[id]?.[key], value, `${id}.${key}`);
      if (c.expect.compensations) assert.deepEqual(run.compensations, c.expect.compensations);
      assert.equal(calls, 0, 'a definition test calls nothing (no real run has happened yet)');
    });

  test('a stored definition is tested by id (and version)', async () => {
    const stored = { id: 'stored-test', nodes: [http('call', { output: 'r' })] };
    assert.equal((await stack.call('POST', '/v1/definitions', stored)).status, 201);
    const response = await stack.call('POST', '/v1/definitions/test', {
      definition_id: 'stored-test',
      version: '1',
      mocks: { call: { output: 5 } },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual([response.body.status, response.body.variables.r], ['completed', 5]);
    const missing = await stack.call('POST', '/v1/definitions/test', { definition_id: 'stored-test', version: '9' });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /version "9" of definition "stored-test"/);
  });

  test('a loop its mocks keep going is stopped at the step cap with a clear problem', async () => {
    const response = await stack.call('POST', '/v1/definitions/test', {
      definition: {
        id: 'forever',
        options: { max_node_visits: 100000 },
        nodes: [
          { id: 'begin', type: 'set', assign: { n: '0' } },
          http('poll'),
          { id: 'again', type: 'condition', expression: 'true' },
        ],
        edges: [
          { from: 'begin', to: 'poll' },
          { from: 'poll', to: 'again' },
          { from: 'again', to: 'poll', when: 'nodes.again.output' },
        ],
      },
      mocks: { poll: { output: 1 } },
    });
    assert.equal(response.status, 409, JSON.stringify(response.body));
    assert.equal(response.body.error.code, 'rejected');
    assert.match(response.body.error.message, /more than 10,000 steps/);
    assert.equal((await stack.call('GET', '/healthz')).status, 200);
  });

  const bad: Array<{ name: string; body: () => unknown; path: string; message: RegExp }> = [
    {
      name: 'neither definition nor definition_id',
      body: () => ({ input: {} }),
      path: '',
      message: /exactly one of "definition" and "definition_id"/,
    },
    { name: 'an unknown field', body: () => ({ definition: everyNode(), mock: {} }), path: '', message: /mock/ },
    {
      name: 'an invalid definition: the /validate problems, under /definition',
      body: () => ({ definition: { id: 'x', nodes: [{ id: 'a', type: 'set', assign: { v: '1 +' } }] } }),
      path: '/definition/nodes/0/assign/v',
      message: /./,
    },
    {
      name: 'a mock of a node that does not exist',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, mocks: { nope: { output: 1 } } }),
      path: '/mocks/nope',
      message: /no node "nope"/,
    },
    {
      name: 'a mock of the wrong kind',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, mocks: { paid: { output: 1 } } }),
      path: '/mocks/paid/output',
      message: /does not apply to event node "paid"/,
    },
    {
      name: 'a mock of a node the engine runs',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, mocks: { sum: { output: 1 } } }),
      path: '/mocks/sum',
      message: /the engine runs it itself/,
    },
    {
      name: 'a mocked error without a type',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, mocks: { charge: { error: {} } } }),
      path: '/mocks/charge/error/type',
      message: /./,
    },
    {
      name: 'an input that misses a required variable',
      body: () => ({ definition: everyNode(), mocks: {} }),
      path: '/input/order_id',
      message: /./,
    },
    {
      name: 'allow_calls naming a node that is not a task',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, allow_calls: ['charge', 'classify'] }),
      path: '/allow_calls/1',
      message: /ai node: only task nodes can make real calls/,
    },
    {
      name: 'allow_calls naming a node that does not exist',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, allow_calls: ['nope'] }),
      path: '/allow_calls/0',
      message: /no node "nope"/,
    },
    {
      name: 'allow_calls naming a node that is mocked too',
      body: () => ({
        definition: everyNode(),
        input: { order_id: 'A' },
        mocks: { charge: { output: 1 } },
        allow_calls: ['charge'],
      }),
      path: '/allow_calls/0',
      message: /either mock it or allow its calls/,
    },
    {
      name: 'a timeout mock for a node without a timeout',
      body: () => ({ definition: everyNode(), input: { order_id: 'A' }, mocks: { paid: { timeout: true } } }),
      path: '/mocks/paid/timeout',
      message: /has no "timeout"/,
    },
    {
      name: 'version without definition_id',
      body: () => ({ definition: everyNode(), version: '1' }),
      path: '/version',
      message: /goes with "definition_id"/,
    },
  ];
  for (const b of bad)
    test(`400: ${b.name}`, async () => {
      const response = await stack.call('POST', '/v1/definitions/test', b.body());
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal(response.body.error.code, 'validation_failed');
      const problem = (response.body.error.details as Array<{ path: string; message: string }>).find(
        (d) => d.path === b.path,
      );
      assert.ok(problem, `no problem at "${b.path}": ${JSON.stringify(response.body.error.details)}`);
      assert.match(problem.message, b.message);
    });
});

const weft = (args: string[]) => runWeft(stack.gateway.url, args);

describe('weft test', () => {
  test('the example test files pass: exit 0', async () => {
    const outcome = await weft(['test', EXAMPLES]);
    assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
    assert.match(outcome.stdout, /PASS .*handler-compensate\.test\.json › ship fails/);
    assert.doesNotMatch(outcome.stdout, /FAIL/);
    assert.match(outcome.stdout, /^\d+ passed, 0 failed$/m);
    assert.equal(calls, 0);
  });

  test('a failing expectation exits 1 with a readable diff', async () => {
    writeFileSync(join(dir, 'order.json'), JSON.stringify(handlers({ action: 'continue' })));
    writeFileSync(
      join(dir, 'order.test.json'),
      JSON.stringify({
        cases: [
          {
            name: 'ship works',
            mocks: { ...shipFails, ship: { output: { t: 1 } } },
            expect: { status: 'completed', variables: { note: 'shipped: {"t":1}' } },
          },
          {
            name: 'wrong expectations',
            mocks: shipFails,
            expect: {
              status: 'failed',
              path: ['reserve', 'charge', 'notify'],
              variables: { shipment: { t: 1 } },
              nodes: { ship: { status: 'completed' } },
            },
          },
          {
            name: 'mocks a node that is not there',
            mocks: { nothing: { output: 1 } },
            expect: { status: 'completed' },
          },
        ],
      }),
    );
    const outcome = await weft(['test', join(dir, 'order.test.json')]);
    assert.equal(outcome.code, 1, outcome.stdout + outcome.stderr);
    const out = outcome.stdout;
    assert.match(out, /PASS .*order\.test\.json › ship works/);
    assert.match(out, /FAIL .*order\.test\.json › wrong expectations/);
    assert.match(out, /status: expected "failed", got "completed"/);
    assert.match(out, /path: expected reserve → charge → notify\n\s+got reserve → charge → ship → notify/);
    assert.match(out, /first difference at step 3: expected "notify", got "ship"/);
    assert.match(out, /variables\.shipment: expected \{"t":1\}\n\s+got null/);
    assert.match(out, /nodes\.ship\.status: expected "completed"\n\s+got "failed"/);
    assert.match(
      out,
      /FAIL .*mocks a node that is not there\n\s+refused: validation_failed: .*\n\s+\/mocks\/nothing: no node "nothing"/,
    );
    assert.match(out, /^1 passed, 2 failed$/m);
  });

  test('a file that is not a test file exits 2 naming the field', async () => {
    writeFileSync(
      join(dir, 'broken.test.json'),
      JSON.stringify({ definition: 'order.json', cases: [{ name: 'x', expect: { staus: 'completed' } }] }),
    );
    const outcome = await weft(['test', join(dir, 'broken.test.json')]);
    assert.equal(outcome.code, 2, outcome.stdout + outcome.stderr);
    assert.match(outcome.stderr, /\/cases\/0\/expect: Unrecognized key: "staus"/);
  });
});

describe('allow_calls', () => {
  // A plain server, not an HttpTarget (which allows egress to itself while it runs): loopback
  // stays refused until the test allows it.
  const live = { url: '', queries: [] as string[] };
  let server: Server;
  before(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://localhost').searchParams.get('q');
      live.queries.push(q ?? '');
      json(res, 200, { real: true, q });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    live.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });
  const definition = () => ({
    id: 'allowed-calls',
    variables: [{ name: 'q', type: 'string', default: 'x' }],
    nodes: [
      {
        id: 'live',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${live.url}/real?q={{ vars.q }}` },
        output: 'live_out',
        timeout: '10s',
      },
      http('mocked', { output: 'mocked_out' }),
      { id: 'sum', type: 'set', assign: { both: '[vars.live_out.body.q, vars.mocked_out]' } },
    ],
    edges: [
      { from: 'live', to: 'mocked' },
      { from: 'mocked', to: 'sum' },
    ],
  });

  test('the named task really calls (through the egress policy); the mocked one does not', async () => {
    const before = { real: live.queries.length, count: calls };
    const body = {
      definition: definition(),
      input: { q: 'hello' },
      mocks: { mocked: { output: 'M' } },
      allow_calls: ['live'],
    };
    // Loopback is refused unless the egress policy allows it: the test's call is no exception.
    const denied = await stack.call('POST', '/v1/definitions/test', body);
    assert.equal(denied.status, 200, JSON.stringify(denied.body));
    assert.equal(denied.body.status, 'failed', JSON.stringify(denied.body.nodes));
    assert.equal(denied.body.nodes.live.error.type, 'EgressDenied', JSON.stringify(denied.body.nodes.live));
    assert.equal(live.queries.length, before.real, 'refused before connecting');

    const revoke = allowEgress(live.url.replace('http://', ''));
    try {
      const response = await stack.call('POST', '/v1/definitions/test', body);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.status, 'completed', JSON.stringify(response.body));
      assert.deepEqual(response.body.path, ['live', 'mocked', 'sum']);
      assert.equal(response.body.nodes.live.output.status, 200);
      assert.deepEqual(response.body.nodes.live.output.body, { real: true, q: 'hello' });
      assert.deepEqual(response.body.variables.both, ['hello', 'M']);
      assert.equal(live.queries.length, before.real + 1, 'the allowed node called once');
      assert.equal(live.queries.at(-1), 'hello', 'with its rendered inputs');

      // A case of a test file takes allow_calls too.
      const file = join(dir, 'allowed.test.json');
      const expect = { status: 'completed', path: ['live', 'mocked', 'sum'], variables: { both: ['file', 'M'] } };
      const testCase = { name: 'live call', input: { q: 'file' }, mocks: body.mocks, expect };
      writeFileSync(
        file,
        JSON.stringify({ definition: definition(), cases: [{ ...testCase, allow_calls: ['live'] }] }),
      );
      const passed = await weft(['test', file]);
      assert.equal(passed.code, 0, passed.stdout + passed.stderr);
      assert.equal(live.queries.at(-1), 'file');
      // Without it, the live node is not mocked: the case fails.
      writeFileSync(file, JSON.stringify({ definition: definition(), cases: [testCase] }));
      const failed = await weft(['test', file]);
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      assert.match(failed.stdout, /FAIL .*live call/);
      assert.equal(calls, before.count, 'the mocked node called nothing');
      // Real calls are side effects: such a test is audited (one without allow_calls is not).
      const audit = await stack.call('GET', '/v1/audit?action=definition.test_calls&target=allowed-calls');
      assert.equal(audit.status, 200, JSON.stringify(audit.body));
      assert.deepEqual(
        audit.body.items.map((e: { status: number }) => e.status),
        [200, 200, 200],
      );
    } finally {
      revoke();
    }
  });
});

describe('allow_calls: bounds', () => {
  test("a real call is bounded by its node's timeout: it fails with Timeout, and the error edge applies", async () => {
    // A server that takes the request and never answers.
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as AddressInfo).port;
    const revoke = allowEgress(`127.0.0.1:${port}`);
    try {
      const response = await stack.call('POST', '/v1/definitions/test', {
        definition: {
          id: 'hanging-call',
          nodes: [
            {
              id: 'slow',
              type: 'task',
              connector: 'http',
              action: 'request',
              inputs: { url: `http://127.0.0.1:${port}/hang` },
              timeout: '1s',
            },
            { id: 'fallback', type: 'set', assign: { fell: 'true' } },
          ],
          edges: [{ from: 'slow', to: 'fallback', on: 'error' }],
          variables: [{ name: 'fell', type: 'boolean', default: false }],
        },
        allow_calls: ['slow'],
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.nodes.slow.error.type, 'Timeout', JSON.stringify(response.body.nodes.slow));
      assert.deepEqual(response.body.path, ['slow', 'fallback']);
      assert.equal(response.body.variables.fell, true);
    } finally {
      revoke();
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });
});

describe('weft runs export-mocks', () => {
  test("a real run's outcomes, exported as mocks, replay to the same outcome without a call", async () => {
    const revoke = allowEgress(`${target.url}/count`);
    try {
      const definition = {
        id: 'export-me',
        nodes: [
          http('fetch', { output: 'fetched' }),
          {
            id: 'each',
            type: 'map',
            items: '["a", "b"]',
            task: { connector: 'http', action: 'request', inputs: { url: `${target.url}/count?item={{ item }}` } },
            output: 'each_out',
          },
          { id: 'review', type: 'approval', output: 'decision' },
          { id: 'sum', type: 'set', assign: { n: '$count(vars.each_out)', ok: 'vars.fetched.body.ok' } },
        ],
        edges: [
          { from: 'fetch', to: 'each' },
          { from: 'each', to: 'review' },
          { from: 'review', to: 'sum' },
        ],
      };
      assert.equal((await stack.call('POST', '/v1/definitions', definition)).status, 201);
      const started = await stack.call('POST', '/v1/definitions/export-me/runs', { input: {} });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const runId = started.body.run_id as string;
      // Approve once the run waits for it (the update is refused until then).
      await untilTrue(
        'the run to take the approval',
        async () => {
          const approved = await stack.call('POST', `/v1/runs/${runId}/approvals/review`, {
            approved: true,
            comment: 'fine',
          });
          if (approved.status === 202) return true;
          assert.equal(approved.status, 409, JSON.stringify(approved.body));
          return false;
        },
        180_000,
        100,
      );
      const real = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
      assert.equal(real.body.status, 'completed', JSON.stringify(real.body));
      const callsAfterRun = calls;
      assert.equal(callsAfterRun >= 3, true, 'the real run called the target');

      const outcome = await weft(['runs', 'export-mocks', runId]);
      assert.equal(outcome.code, 0, outcome.stderr);
      const mocks = JSON.parse(outcome.stdout) as Record<string, any>;
      assert.deepEqual(Object.keys(mocks).sort(), ['each', 'fetch', 'review']);
      assert.equal(mocks.fetch.output.body.ok, true);
      assert.equal(mocks.each.items.length, 2);
      assert.equal(mocks.review.decision, 'approved');
      assert.equal(mocks.review.comment, 'fine');

      const replayed = await stack.call('POST', '/v1/definitions/test', { definition_id: 'export-me', mocks });
      assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
      assert.equal(replayed.body.status, 'completed');
      assert.deepEqual(replayed.body.path, ['fetch', 'each', 'review', 'sum']);
      assert.deepEqual(replayed.body.result, real.body.result);
      assert.equal(calls, callsAfterRun, 'the test run called nothing');
    } finally {
      revoke();
    }
  });
});
