/** Data lineage recorded by the pure interpreter: who wrote each variable, from what, and when. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyControl, deliverEvent } from '../../interpreter/control.js';
import { expressionInputs, LINEAGE_LIMIT, viewLineage } from '../../interpreter/lineage.js';
import type { RunState } from '../../interpreter/run-state.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const ok = (output: unknown = null) => ({ output });

/** The simulation clock's n-th tick (simulate starts the run at tick 0). */
const tick = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

function entriesOf(state: RunState, name: string) {
  const lineage = viewLineage(state).variables[name];
  assert.ok(lineage, `lineage of "${name}"`);
  return lineage.entries;
}

describe('lineage', () => {
  const pricing = {
    id: 'pricing',
    variables: [
      { name: 'sku', type: 'string', required: true },
      { name: 'quantity', type: 'number', default: 1 },
      { name: 'total', type: 'number' },
    ],
    nodes: [
      http('price', { output: 'quote', inputs: { url: 'http://x.test/price', query: { sku: '{{ vars.sku }}' } } }),
      {
        id: 'sum',
        type: 'set',
        assign: { total: 'nodes.price.output.body.price * vars.quantity', note: '"for " & input.sku' },
      },
    ],
    edges: [{ from: 'price', to: 'sum' }],
  };

  test('the run input and declared defaults are the first writes, at the start time', async () => {
    const sim = await simulate(pricing, { price: ok({ body: { price: 2 } }) }, { sku: 'A-1' });
    assert.deepEqual(entriesOf(sim.state, 'sku'), [{ at: tick(0), source: 'input', inputs: ['input.sku'] }]);
    assert.deepEqual(entriesOf(sim.state, 'quantity'), [{ at: tick(0), source: 'default', inputs: [] }]);
    assert.equal(
      entriesOf(sim.state, 'total')[0]?.source,
      'default',
      'a declared variable without a value starts null',
    );
  });

  test('a task output names the node and the references of its params; a set names its expression', async () => {
    const sim = await simulate(pricing, { price: ok({ body: { price: 2 } }) }, { sku: 'A-1', quantity: 3 });
    assert.equal(sim.state.vars.total, 6);
    const quote = entriesOf(sim.state, 'quote');
    assert.deepEqual(quote, [
      { at: tick(1), node: 'price', node_type: 'task', source: 'node', inputs: ['vars.sku'], iteration: 1 },
    ]);
    const total = entriesOf(sim.state, 'total');
    assert.equal(total.length, 2);
    assert.deepEqual(total[1], {
      at: tick(1),
      node: 'sum',
      node_type: 'set',
      source: 'node',
      inputs: ['nodes.price.output', 'vars.quantity'],
      iteration: 1,
    });
    assert.deepEqual(entriesOf(sim.state, 'note')[0]?.inputs, ['input.sku']);
    assert.equal(viewLineage(sim.state).variables.total?.writes, 2);
    assert.equal(viewLineage(sim.state).run_id, 'sim-1');
  });

  test('a loop keeps the last 20 writes per variable and counts them all', async () => {
    const sim = await simulate(
      {
        id: 'loop',
        variables: [{ name: 'i', type: 'number', default: 0 }],
        nodes: [
          { id: 'begin', type: 'condition', expression: 'true' },
          { id: 'inc', type: 'set', assign: { i: 'vars.i + 1' } },
          { id: 'again', type: 'condition', expression: 'vars.i < 30', output: 'more' },
        ],
        edges: [
          { from: 'begin', to: 'inc' },
          { from: 'inc', to: 'again' },
          { from: 'again', to: 'inc', when: 'nodes.again.output' },
        ],
      },
      {},
    );
    assert.equal(sim.state.vars.i, 30);
    const lineage = viewLineage(sim.state).variables.i;
    assert.equal(lineage?.writes, 31, 'the default and 30 increments');
    assert.equal(lineage?.entries.length, LINEAGE_LIMIT);
    assert.deepEqual(
      lineage?.entries.map((e) => e.iteration),
      Array.from({ length: LINEAGE_LIMIT }, (_, k) => 11 + k),
      'the latest writes, oldest first',
    );
    assert.ok(lineage?.entries.every((e) => e.node === 'inc' && e.inputs.join() === 'vars.i'));
    const more = viewLineage(sim.state).variables.more;
    assert.equal(more?.writes, 30);
    assert.deepEqual(more?.entries.at(-1)?.inputs, ['vars.i']);
    assert.equal(more?.entries.at(-1)?.node_type, 'condition');
  });

  test("an operator's variable patch is recorded with who made it and no node", async () => {
    const sim = await simulate(
      {
        id: 'patch',
        variables: [{ name: 'limit', type: 'number', default: 5 }],
        nodes: [http('wait_here')],
      },
      { wait_here: 'hold' },
    );
    const at = sim.clock();
    await sim.feed(
      await applyControl(sim.program, sim.state, { type: 'set_variables', by: 'alice', variables: { limit: 9 } }, at),
    );
    assert.equal(sim.state.vars.limit, 9);
    assert.deepEqual(entriesOf(sim.state, 'limit').at(-1), { at, source: 'operator', by: 'alice', inputs: [] });
  });

  test('an operator skip supplies the output; an approver decides it', async () => {
    const definition = {
      id: 'ops',
      nodes: [{ id: 'ok', type: 'approval', output: 'decision' }, http('fetch', { output: 'fetched' })],
      edges: [{ from: 'ok', to: 'fetch' }],
    };
    const sim = await simulate(definition, { ok: 'hold' });
    // Skipped while still pending: it completes with the operator's output when reached.
    await sim.feed(
      await applyControl(
        sim.program,
        sim.state,
        { type: 'skip', by: 'carol', node: 'fetch', output: { stub: true } },
        tick(40),
      ),
    );
    await sim.feed(
      await applyControl(sim.program, sim.state, { type: 'approve', by: 'bob', node: 'ok', approved: true }, tick(50)),
    );
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(entriesOf(sim.state, 'decision'), [
      { at: tick(50), node: 'ok', node_type: 'approval', source: 'node', by: 'bob', inputs: [], iteration: 1 },
    ]);
    assert.equal(sim.state.nodes.fetch?.status, 'skipped');
    assert.deepEqual(entriesOf(sim.state, 'fetched'), [
      { at: tick(50), node: 'fetch', node_type: 'task', source: 'operator', by: 'carol', inputs: [], iteration: 1 },
    ]);
  });

  test('a map output names the items expression and the references of its body', async () => {
    const sim = await simulate(
      {
        id: 'fan',
        variables: [
          { name: 'ids', type: 'array', default: [1, 2, 3] },
          { name: 'base', type: 'string', default: 'http://x.test' },
        ],
        nodes: [
          {
            id: 'each',
            type: 'map',
            output: 'results',
            items: 'vars.ids[$ > 1]',
            task: { connector: 'http', action: 'request', inputs: { url: '{{ vars.base }}/{{ item }}' } },
          },
        ],
      },
      { each: (call) => ok((call as { params: { url: string } }).params.url) },
    );
    assert.deepEqual(sim.state.vars.results, ['http://x.test/2', 'http://x.test/3']);
    const [entry] = entriesOf(sim.state, 'results');
    assert.equal(entry?.node, 'each');
    assert.equal(entry?.node_type, 'map');
    assert.deepEqual(entry?.inputs, ['vars.ids', 'vars.base']);
  });

  test('an event output comes from the event type', async () => {
    const sim = await simulate(
      {
        id: 'ev',
        variables: [{ name: 'order', type: 'string', default: 'o-1' }],
        nodes: [
          {
            id: 'paid',
            type: 'event',
            event_type: 'payment.settled',
            correlation_key: 'vars.order',
            output: 'payment',
          },
        ],
      },
      { paid: 'hold' },
    );
    const at = sim.clock();
    const delivery = await deliverEvent(
      sim.program,
      sim.state,
      { event_type: 'payment.settled', correlation_key: 'o-1', payload: { amount: 3 } },
      at,
    );
    assert.equal(delivery.status, 'delivered');
    assert.deepEqual(entriesOf(sim.state, 'payment'), [
      { at, node: 'paid', node_type: 'event', source: 'node', inputs: ['event:payment.settled'], iteration: 1 },
    ]);
  });

  test('a "continue" error handler writes null, recorded against the failed node', async () => {
    const sim = await simulate(
      {
        id: 'cont',
        nodes: [http('flaky', { output: 'got' })],
        error_handlers: [{ id: 'h', action: 'continue' }],
      },
      { flaky: { error: { type: 'HttpError', message: 'boom' } } },
    );
    assert.equal(sim.state.vars.got, null);
    assert.deepEqual(
      entriesOf(sim.state, 'got').map((e) => [e.node, e.inputs.length]),
      [['flaky', 0]],
    );
  });

  test('a state from before lineage was recorded reports every variable with no writes', async () => {
    const sim = await simulate(pricing, { price: 'hold' }, { sku: 'A-1' });
    delete sim.state.lineage;
    assert.deepEqual(viewLineage(sim.state).variables.sku, { writes: 0, entries: [] });
    await sim.feed(
      await applyControl(sim.program, sim.state, { type: 'set_variables', by: 'op', variables: { sku: 'B' } }, tick(9)),
    );
    assert.equal(viewLineage(sim.state).variables.sku?.writes, 1, 'recording starts where the old state left off');
  });

  test('lineage is plain JSON, so it survives continue-as-new', async () => {
    const sim = await simulate(pricing, { price: ok({ body: { price: 2 } }) }, { sku: 'A-1' });
    assert.deepEqual(JSON.parse(JSON.stringify(sim.state.lineage)), sim.state.lineage);
  });

  const references = [
    { expression: 'vars.a + vars.b.c', inputs: ['vars.a', 'vars.b'] },
    { expression: 'nodes.fetch.output.body[price > vars.min]', inputs: ['nodes.fetch.output', 'vars.min'] },
    { expression: '$count(input.items) & error.message', inputs: ['input.items', 'error.message'] },
    { expression: '$.vars.a', inputs: ['vars.a'] },
    { expression: 'vars', inputs: ['vars'] },
    { expression: 'item.id + 1', inputs: [] },
    { expression: '(', inputs: [] },
  ];
  for (const row of references) {
    test(`references of ${JSON.stringify(row.expression)}`, () => {
      assert.deepEqual(expressionInputs(row.expression), row.inputs);
    });
  }
});
