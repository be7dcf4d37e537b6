/**
 * `options.max_cost_usd` holds before every model call: map items, parallel branches and
 * child runs (whose cost rolls up into the parent's). Scenarios on the pure interpreter; the
 * same rules on the real dev server are in test/integration/ai-budgets.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aiConfigFromEnv } from '../../activities/ai-config.js';
import { DEFAULT_AI_PRICES, priceOf } from '../../activities/ai-prices.js';
import { applyControl } from '../../interpreter/control.js';
import { aiMapDefinition } from '../support/definitions.js';
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
    const sim = await simulate(aiMapDefinition('gpt-4o-mini', 0.001, ['a', 'b', 'c', 'd', 'e'], 1), {
      each: paid(0.0006),
    });
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
    const sim = await simulate(aiMapDefinition('gpt-4o-mini', 0.001, ['a', 'b', 'c', 'd', 'e', 'f'], 3), {
      each: paid(0.002),
    });
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

  test('an unpriced model is noted once in the run history; its calls count as 0', async () => {
    const unpriced = (call: unknown) => ({
      output: (call as { prompt: string }).prompt,
      cost: { usd: 0, input_tokens: 10, output_tokens: 1, unpriced_model: 'local-llama' },
    });
    const sim = await simulate(
      { id: 'unpriced', nodes: [ai('a'), ai('b')], edges: [{ from: 'a', to: 'b' }] },
      { a: unpriced, b: unpriced },
    );
    assert.equal(sim.state.status, 'completed');
    const notes = sim.state.history.filter((t) => t.to === 'cost_unknown').map((t) => t.note);
    assert.deepEqual(notes, [
      'a: model "local-llama" has no price (WEFT_AI_PRICES or the default table): its calls count as 0 USD',
    ]);
    assert.deepEqual(sim.state.cost, { usd: 0, tokens: { input: 20, output: 2 } });
  });
});

describe('AI prices', () => {
  test('the default table prices common models; a dated snapshot takes its model price unless listed', () => {
    assert.deepEqual(priceOf(DEFAULT_AI_PRICES, 'gpt-4o-mini'), { input_per_1m: 0.15, output_per_1m: 0.6 });
    assert.deepEqual(priceOf(DEFAULT_AI_PRICES, 'gpt-4o-mini-2024-07-18'), { input_per_1m: 0.15, output_per_1m: 0.6 });
    assert.deepEqual(priceOf(DEFAULT_AI_PRICES, 'gpt-4o-2024-05-13'), { input_per_1m: 5, output_per_1m: 15 });
    for (const model of ['gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o1', 'o3', 'o3-mini', 'o4-mini'])
      assert.ok(priceOf(DEFAULT_AI_PRICES, model), model);
    assert.equal(priceOf(DEFAULT_AI_PRICES, 'my-local-model'), undefined);
  });

  test('WEFT_AI_PRICES must be JSON of model → { input_per_1m, output_per_1m }, or the worker does not start', () => {
    assert.throws(
      () => aiConfigFromEnv({ WEFT_AI_PRICES: '{"gpt-4o": ' }),
      /^Error: invalid configuration: WEFT_AI_PRICES is not valid JSON/,
    );
    assert.throws(
      () => aiConfigFromEnv({ WEFT_AI_PRICES: '{"gpt-4o": {"input_per_1m": "2.5", "output_per_1m": 10}}' }),
      /^Error: invalid configuration: WEFT_AI_PRICES\.gpt-4o\.input_per_1m: .*expected number/,
    );
    assert.throws(
      () => aiConfigFromEnv({ WEFT_AI_PRICES: '{"gpt-4o": {"input": 2.5, "output": 10}}' }),
      /WEFT_AI_PRICES\.gpt-4o/,
    );
    assert.deepEqual(
      aiConfigFromEnv({ WEFT_AI_PRICES: '{"gpt-4o": {"input_per_1m": 1, "output_per_1m": 2}}' }).prices,
      { 'gpt-4o': { input_per_1m: 1, output_per_1m: 2 } },
    );
  });
});
