/**
 * The engine's work budget per step (ACTIVATION_LIMITS): a long loop pauses on durable timers
 * and resumes where it stopped, with the same result; a single node that evaluates too much
 * fails with ExpressionError. Driven without Temporal by the simulator.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVATION_LIMITS } from '../../interpreter/expression-budget.js';
import { simulate } from '../support/simulate.js';

test('a loop longer than one step allows pauses on 1 ms timers and completes with the same result', async () => {
  const iterations = 40_000;
  const sim = await simulate(
    {
      id: 'long-loop',
      variables: [{ name: 'i', type: 'number', default: 0 }],
      options: { max_node_visits: iterations + 10 },
      nodes: [
        { id: 'begin', type: 'set', assign: { i: '0' } },
        { id: 'step', type: 'set', assign: { i: 'vars.i + 1' } },
        { id: 'more', type: 'condition', expression: `vars.i < ${iterations}` },
      ],
      edges: [
        { from: 'begin', to: 'step' },
        { from: 'step', to: 'more' },
        { from: 'more', to: 'step', when: 'nodes.more.output' },
      ],
    },
    {},
  );
  assert.equal(sim.closing?.type, 'complete', JSON.stringify(sim.closing));
  assert.equal((sim.closing as { result: { i: number } }).result.i, iterations);
  assert.equal(sim.state.deferred, undefined, 'nothing is left deferred');
  // Each pause is one timer (one exec); an iteration costs at least four units (two activations,
  // two fast evaluations), so the run paused at least once per ACTIVATION_LIMITS.units of them.
  assert.ok(sim.state.seq >= Math.floor((iterations * 4) / ACTIVATION_LIMITS.units), `seq ${sim.state.seq}`);
});

test('a short loop does not pause: no timer, no history cost', async () => {
  const sim = await simulate(
    {
      id: 'short-loop',
      variables: [{ name: 'i', type: 'number', default: 0 }],
      options: { max_node_visits: 5_010 },
      nodes: [
        { id: 'begin', type: 'set', assign: { i: '0' } },
        { id: 'step', type: 'set', assign: { i: 'vars.i + 1' } },
        { id: 'more', type: 'condition', expression: 'vars.i < 5000' },
      ],
      edges: [
        { from: 'begin', to: 'step' },
        { from: 'step', to: 'more' },
        { from: 'more', to: 'step', when: 'nodes.more.output' },
      ],
    },
    {},
  );
  assert.equal(sim.closing?.type, 'complete');
  assert.equal(sim.state.seq, 0, 'no timer was started');
});

test('a node whose expressions evaluate too much at once fails with ExpressionError', async () => {
  const heavy = '$reduce([1..900], function($a, $b) { $a + $b })';
  const sim = await simulate(
    {
      id: 'heavy-node',
      nodes: [{ id: 'crunch', type: 'set', assign: { a: heavy, b: heavy, c: heavy, d: heavy } }],
    },
    {},
  );
  assert.equal(sim.closing?.type, 'fail', JSON.stringify(sim.closing));
  const error = (sim.closing as { error: { type: string; message: string; node?: string } }).error;
  assert.equal(error.type, 'ExpressionError');
  assert.equal(error.node, 'crunch');
  assert.match(error.message, /the node evaluated too much at once/);
});
