/** The definition-test driver (interpreter/definition-test.ts) without a gateway: edge cases of its answers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TestLimitExceeded,
  mockProblems,
  runDefinitionTest,
  type MocksValue,
} from '../../interpreter/definition-test.js';
import { HISTORY_LIMIT } from '../../interpreter/run-state.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask as http } from '../support/simulate.js';

async function run(raw: unknown, mocks: MocksValue, input: Record<string, unknown> = {}, maxSteps?: number) {
  const validated = validateDefinition(raw);
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  const resolved = resolveRunInput(validated.definition, input);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.problems));
  assert.deepEqual(mockProblems(validated.definition, mocks), []);
  return runDefinitionTest(validated.definition, input, resolved.variables, mocks, {
    now: '2026-01-01T00:00:00.000Z',
    pause: () => Promise.resolve(),
    ...(maxSteps === undefined ? {} : { maxSteps }),
  });
}

describe('definition tests: the driver', () => {
  test('the path keeps every step of a loop longer than the bounded state history', async () => {
    const result = await run(
      {
        id: 'long-loop',
        variables: [{ name: 'i', type: 'number', default: 0 }],
        options: { max_node_visits: 5000 },
        nodes: [
          { id: 'begin', type: 'set', assign: { i: '0' } },
          { id: 'step', type: 'set', assign: { i: 'vars.i + 1' } },
          { id: 'more', type: 'condition', expression: 'vars.i < 800' },
        ],
        edges: [
          { from: 'begin', to: 'step' },
          { from: 'step', to: 'more' },
          { from: 'more', to: 'step', when: 'nodes.more.output' },
        ],
      },
      {},
    );
    assert.equal(result.status, 'completed');
    assert.equal(result.variables.i, 800);
    assert.equal(result.path.length, 1601);
    assert.ok(result.path.length > HISTORY_LIMIT);
    assert.deepEqual(result.path.slice(0, 5), ['begin', 'step', 'more', 'step', 'more']);
  });

  test('timers fire in deadline order on a clock that jumps to them', async () => {
    const result = await run(
      {
        id: 'timers',
        nodes: [
          { id: 'long', type: 'wait', duration: '2d', output: 'l' },
          { id: 'short', type: 'wait', duration: '1h', output: 's' },
          { id: 'until', type: 'wait', until: '"2026-01-01T00:30:00Z"', output: 'u' },
        ],
      },
      {},
    );
    assert.deepEqual(result.path, ['long', 'short', 'until']);
    const order = result.history.filter((t) => t.to === 'completed' && t.node).map((t) => [t.node, t.at]);
    assert.deepEqual(order, [
      ['until', '2026-01-01T00:30:00.000Z'],
      ['short', '2026-01-01T01:00:00.000Z'],
      ['long', '2026-01-03T00:00:00.000Z'],
    ]);
    assert.deepEqual(result.variables.l, { waited_until: '2026-01-03T00:00:00.000Z' });
  });

  test('a sequence runs out: the next execution is NotMocked, saying how many answers it had', async () => {
    const result = await run(
      {
        id: 'twice',
        variables: [{ name: 'i', type: 'number', default: 0 }],
        nodes: [
          { id: 'begin', type: 'set', assign: { i: '0' } },
          http('poll'),
          { id: 'count', type: 'set', assign: { i: 'vars.i + 1' } },
        ],
        edges: [
          { from: 'begin', to: 'poll' },
          { from: 'poll', to: 'count' },
          { from: 'count', to: 'poll', when: 'vars.i < 5' },
        ],
      },
      { poll: { sequence: [{ output: 1 }, { output: 2 }] } },
    );
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.path, ['begin', 'poll', 'count', 'poll', 'count', 'poll']);
    assert.match(result.error?.message ?? '', /ran 3 time\(s\) but mocks\.poll\.sequence has 2 answer\(s\)/);
  });

  test('the step cap stops a test run that goes on and on', async () => {
    await assert.rejects(
      run(
        {
          id: 'spin',
          options: { max_node_visits: 100000 },
          variables: [{ name: 'i', type: 'number', default: 0 }],
          nodes: [
            { id: 'begin', type: 'set', assign: { i: '0' } },
            http('poll'),
            { id: 'count', type: 'set', assign: { i: 'vars.i + 1' } },
          ],
          edges: [
            { from: 'begin', to: 'poll' },
            { from: 'poll', to: 'count' },
            { from: 'count', to: 'poll', when: 'vars.i < 1000' },
          ],
        },
        { poll: { output: 1 } },
        {},
        50,
      ),
      (err: unknown) => err instanceof TestLimitExceeded && /more than 50 steps/.test(err.message),
    );
  });
});
