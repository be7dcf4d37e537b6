/** A map node's item counts in the state view (`nodes[id].items`): query output only, no history change. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { viewRunState } from '../../interpreter/run-state.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { simulate } from '../support/simulate.js';

const ids = { workflow_id: 'w', instance_id: 'r' };

function mapDefinition() {
  return {
    id: 'fanout',
    variables: [{ name: 'results', type: 'array' }],
    nodes: [
      {
        id: 'each',
        type: 'map',
        items: '[1, 2, 3, 4]',
        max_concurrency: 2,
        task: { connector: 'http', action: 'request', inputs: { url: 'http://example.test/{{ item }}' } },
        output: 'results',
      },
    ],
  };
}

function viewOf(raw: unknown, state: Parameters<typeof viewRunState>[1]) {
  const validated = validateDefinition(raw);
  assert.ok(validated.ok);
  return viewRunState(validated.definition, state, ids);
}

test('a running map reports its total, completed and running items', async () => {
  const raw = mapDefinition();
  // The first item answers; the next ones are held, so two are in flight.
  const sim = await simulate(raw, { each: (_call, nth) => (nth === 1 ? { output: 'one' } : 'hold') });
  assert.equal(sim.state.nodes.each?.status, 'running');
  assert.deepEqual(viewOf(raw, sim.state).nodes.each?.items, { total: 4, completed: 1, running: 2, failed: 0 });
});

test('a completed map reports every item completed; other nodes have no items', async () => {
  const raw = {
    ...mapDefinition(),
    nodes: [...mapDefinition().nodes, { id: 'done', type: 'end' }],
    edges: [{ from: 'each', to: 'done' }],
  };
  const sim = await simulate(raw, { each: { output: 'x' } });
  assert.equal(sim.state.nodes.each?.status, 'completed');
  const view = viewOf(raw, sim.state);
  assert.deepEqual(view.nodes.each?.items, { total: 4, completed: 4, running: 0, failed: 0 });
  assert.equal(view.nodes.done?.items, undefined);
});
