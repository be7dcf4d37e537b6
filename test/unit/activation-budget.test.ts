/**
 * The engine's work budget per step (ACTIVATION_LIMITS): a long loop pauses on durable timers
 * and resumes where it stopped, with the same result; a single node that evaluates too much
 * fails with ExpressionError. Driven without Temporal by the simulator. With slicing (new runs),
 * the engine yields every SLICE_LIMITS.units of work, also in the middle of one expression.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from '../../interpreter/commands.js';
import { compileProgram, initialState, startRun, useEvaluation } from '../../interpreter/engine.js';
import { ACTIVATION_LIMITS, SEGMENT_LIMITS, SLICE_LIMITS } from '../../interpreter/expression-budget.js';
import type { RunState } from '../../interpreter/run-state.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { simulate } from '../support/simulate.js';

/** A loop of `iterations` cheap steps: a set node and a condition, the engine's own work only. */
const longLoop = (iterations: number) => ({
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
});

test('a loop longer than one step allows pauses on 1 ms timers and completes with the same result', async () => {
  const iterations = 40_000;
  const sim = await simulate(longLoop(iterations), {});
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

/** Runs a definition on the engine with slicing on, as the workflow does for new runs; counts the pauses. */
async function sliced(
  raw: unknown,
  bounded?: () => boolean,
): Promise<{ pauses: number; commands: Command[]; state: RunState }> {
  const validated = validateDefinition(raw);
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  const state = initialState(
    { id: 'sliced-1', definition_id: validated.definition.id, definition_version: '1', started_at: 'x' },
    {},
    {},
  );
  let pauses = 0;
  useEvaluation(state, {
    slices: { used: 0, pause: () => Promise.resolve(void pauses++), ...(bounded ? { bounded } : {}) },
  });
  const commands = await startRun(compileProgram(validated.definition), state, '2026-01-01T00:00:00.000Z');
  return { pauses, commands, state };
}

test('sliced: one heavy evaluation pauses in the middle, at the same points every time, and completes', async () => {
  // About 4,200 slow-path steps in ONE expression: 21 slices of SLICE_LIMITS.units.
  const heavy = {
    id: 'one-heavy',
    nodes: [{ id: 'crunch', type: 'set', assign: { a: '$reduce([1..1400], function($a, $b) { $a + $b })' } }],
  };
  const first = await sliced(heavy);
  assert.deepEqual(first.commands.at(-1), { type: 'complete', result: { a: 980_700 } });
  const perPause = SLICE_LIMITS.units / ACTIVATION_LIMITS.slowStepUnits;
  assert.ok(first.pauses >= Math.floor(4_000 / perPause), `${first.pauses} pauses`);
  assert.equal((await sliced(heavy)).pauses, first.pauses, 'the pause points are counted, not timed');
});

test('sliced: a node the legacy budget fails (4 heavy expressions) pauses and completes instead', async () => {
  const heavy = '$reduce([1..900], function($a, $b) { $a + $b })';
  const run = await sliced({
    id: 'heavy-node',
    nodes: [{ id: 'crunch', type: 'set', assign: { a: heavy, b: heavy, c: heavy, d: heavy } }],
  });
  assert.deepEqual(run.commands.at(-1), {
    type: 'complete',
    result: { a: 405_450, b: 405_450, c: 405_450, d: 405_450 },
  });
  assert.ok(run.pauses >= 8, `${run.pauses} pauses`);
});

test('sliced: a long loop of cheap nodes pauses every slice, inline, and leaves nothing deferred', async () => {
  const iterations = 20_000;
  const run = await sliced(longLoop(iterations));
  assert.deepEqual(run.commands.at(-1), { type: 'complete', result: { i: iterations } });
  assert.ok(run.pauses >= Math.floor((iterations * 4) / SLICE_LIMITS.units), `${run.pauses} pauses`);
  assert.equal(run.state.deferred, undefined);
});

test('sliced: a cancellation that interrupts a pause is not turned into an ExpressionError', async () => {
  const validated = validateDefinition({
    id: 'interrupted',
    nodes: [{ id: 'crunch', type: 'set', assign: { a: '$reduce([1..1400], function($a, $b) { $a + $b })' } }],
  });
  assert.ok(validated.ok);
  const state = initialState(
    { id: 'i-1', definition_id: 'interrupted', definition_version: '1', started_at: 'x' },
    {},
    {},
  );
  const cancelled = Object.assign(new Error('cancelled'), { name: 'CancelledFailure' });
  useEvaluation(state, { slices: { used: 0, pause: () => Promise.reject(cancelled) } });
  await assert.rejects(
    startRun(compileProgram(validated.definition), state, '2026-01-01T00:00:00.000Z'),
    (err) => err === cancelled,
  );
});

test('bounded segments: a long loop hands back once the segment is done, its rest parked behind a yield timer', async () => {
  let asked = 0;
  const run = await sliced(longLoop(100_000), () => (asked++, true));
  assert.ok(asked > 0, 'the patch is asked once the bound is passed');
  const last = run.commands.at(-1);
  assert.equal(last?.type, 'start_timer', JSON.stringify(last));
  const execution = run.state.inflight[(last as { exec: string }).exec];
  assert.equal(execution?.kind === 'wait' && execution.purpose, 'yield');
  assert.ok((run.state.deferred ?? []).length > 0, 'the rest of the loop waits in the state');
  // One segment of work, in slices: never more pauses than the segment holds.
  assert.ok(run.pauses <= SEGMENT_LIMITS.units / SLICE_LIMITS.units, `${run.pauses} pauses`);
});

test('bounded segments: a run whose patch answers false (recorded before it) goes on unbounded', async () => {
  const run = await sliced(longLoop(20_000), () => false);
  assert.deepEqual(run.commands.at(-1), { type: 'complete', result: { i: 20_000 } });
});

test('bounded segments: a node fails past SEGMENT_LIMITS.nodeUnits, not only past SLICE_LIMITS.nodeUnits', async () => {
  const heavy = '$reduce([1..900], function($a, $b) { $a + $b })';
  const definition = { id: 'two-heavy', nodes: [{ id: 'crunch', type: 'set', assign: { a: heavy, b: heavy } }] };
  const bounded = await sliced(definition, () => true);
  const closing = bounded.commands.at(-1) as { type: string; error?: { type: string; message: string } };
  assert.equal(closing.type, 'fail', JSON.stringify(closing));
  assert.equal(closing.error?.type, 'ExpressionError');
  assert.match(closing.error?.message ?? '', new RegExp(`more than ${SEGMENT_LIMITS.nodeUnits} work units`));
  const unbounded = await sliced(definition);
  assert.deepEqual(unbounded.commands.at(-1), { type: 'complete', result: { a: 405_450, b: 405_450 } });
});
