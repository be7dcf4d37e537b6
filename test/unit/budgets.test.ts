/**
 * `options.max_cost_usd` holds before every model call: map items, parallel branches and
 * child runs (whose cost rolls up into the parent's). Scenarios on the pure interpreter; the
 * same rules on the real dev server are in test/integration/ai-budgets.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyControl } from '../../interpreter/control.js';
import { simulate, type Simulation } from '../support/simulate.js';

const ai = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'ai',
  model: 'gpt-4o-mini',
  prompt_template: `say ${id}`,
  ...extra,
});
/** Each call answers its prompt and costs `usd`. */
const paid = (usd: number) => (call: unknown) => ({
  output: (call as { prompt: string }).prompt,
  cost: { usd, input_tokens: 100, output_tokens: 10 },
});

async function resume(sim: Simulation, maxCost: number): Promise<void> {
  const action = { type: 'resume', by: 'finance', max_cost_usd: maxCost } as const;
  await sim.feed(await applyControl(sim.program, sim.state, action, sim.clock()));
}

describe('budgets', () => {
  test('a map of AI calls stops starting items once the budget is reached, and goes on when it is raised', async () => {
    const sim = await simulate(
      {
        id: 'map-budget',
        options: { max_cost_usd: 0.001 },
        variables: [{ name: 'words', type: 'array', default: ['a', 'b', 'c', 'd', 'e'] }],
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: 'vars.words',
            max_concurrency: 1,
            ai: { model: 'gpt-4o-mini', prompt_template: 'say {{ item }}' },
            output: 'said',
          },
        ],
      },
      { each: paid(0.0006) },
    );
    assert.equal(sim.calls.length, 2, 'the third item would start over budget');
    assert.equal(sim.state.status, 'paused');
    assert.match(sim.state.pause_reason ?? '', /^budget_exceeded: /);
    assert.equal(sim.state.nodes.each?.status, 'running');
    assert.equal(sim.closing, undefined);

    await resume(sim, 0.1);
    assert.equal(sim.state.status, 'completed');
    assert.deepEqual(sim.state.vars.said, ['say a', 'say b', 'say c', 'say d', 'say e']);
    assert.equal(sim.calls.length, 5);
    assert.ok(Math.abs(sim.state.cost.usd - 0.003) < 1e-12);
  });

  test('items of a map already in flight finish once the budget is reached; no new one starts', async () => {
    const sim = await simulate(
      {
        id: 'map-concurrent',
        options: { max_cost_usd: 0.001 },
        variables: [{ name: 'words', type: 'array', default: ['a', 'b', 'c', 'd', 'e', 'f'] }],
        nodes: [
          {
            id: 'each',
            type: 'map',
            items: 'vars.words',
            max_concurrency: 3,
            ai: { model: 'gpt-4o-mini', prompt_template: 'say {{ item }}' },
          },
        ],
      },
      { each: paid(0.002) },
    );
    // Three were in flight when the first answer spent the budget: they finish, none follows.
    assert.equal(sim.calls.length, 3);
    assert.equal(sim.state.status, 'paused');
    assert.ok(Math.abs(sim.state.cost.usd - 0.006) < 1e-12);
    assert.equal(Object.keys(sim.state.inflight).length, 1, 'only the map itself, waiting for room in the budget');
  });

  test('parallel branches: once the budget is reached no more calls start; the call in flight finishes', async () => {
    const sim = await simulate(
      {
        id: 'parallel-budget',
        options: { max_cost_usd: 0.001 },
        nodes: [ai('a'), ai('b'), ai('a2', { output: 'a2' }), ai('b2', { output: 'b2' })],
        edges: [
          { from: 'a', to: 'a2' },
          { from: 'b', to: 'b2' },
        ],
      },
      { a: paid(0.002), b: paid(0.0001), a2: paid(0.0001), b2: paid(0.0001) },
    );
    assert.deepEqual(
      sim.calls.map((c) => c.node),
      ['a', 'b'],
    );
    assert.equal(sim.state.status, 'paused');
    assert.equal(sim.state.nodes.b?.status, 'completed', 'b was in flight: it finished');
    assert.equal(sim.state.nodes.a2?.status, 'pending');
    assert.equal(sim.state.nodes.b2?.status, 'pending');

    await resume(sim, 0.1);
    assert.equal(sim.closing?.type, 'complete');
    assert.deepEqual(sim.calls.map((c) => c.node).sort(), ['a', 'a2', 'b', 'b2']);
  });

  test("a child run's cost rolls up into its parent's cost and budget", async () => {
    const sim = await simulate(
      {
        id: 'parent-budget',
        options: { max_cost_usd: 0.003 },
        nodes: [
          ai('first'),
          { id: 'kid', type: 'subworkflow', definition: 'child', inputs: {}, output: 'kid' },
          ai('last'),
        ],
        edges: [
          { from: 'first', to: 'kid' },
          { from: 'kid', to: 'last' },
        ],
      },
      {
        first: paid(0.001),
        kid: { output: { done: true }, cost: { usd: 0.0025, input_tokens: 300, output_tokens: 30 } },
        last: paid(0.0001),
      },
    );
    assert.deepEqual(
      sim.calls.map((c) => c.node),
      ['first', 'kid'],
    );
    assert.equal(sim.state.status, 'paused', 'the child spent what was left: "last" would go over');
    assert.ok(Math.abs(sim.state.cost.usd - 0.0035) < 1e-12);
    assert.deepEqual(sim.state.cost.tokens, { input: 400, output: 40 });
    assert.equal(sim.state.nodes.kid?.cost?.usd, 0.0025);
    assert.deepEqual(sim.state.vars.kid, { done: true });
  });
});
