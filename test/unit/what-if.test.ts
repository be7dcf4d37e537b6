/**
 * What-if replay's pieces without a gateway: where two paths split (`divergenceOf`), the path of
 * a recorded state history (`pathOf`), and a recorded run's node outcomes as mocks (`recordedMocks`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pathOf, runDefinitionTest } from '../../interpreter/definition-test.js';
import { recordedMocks } from '../../interpreter/recorded-mocks.js';
import { resolveRunInput } from '../../interpreter/run-input.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { divergenceOf } from '../../src/gateway/what-if.js';
import { httpTask as http } from '../support/simulate.js';

describe('what-if replay', () => {
  test('divergenceOf: the last common node, the first differing index, and what each ran there', () => {
    assert.equal(divergenceOf(['a', 'b'], ['a', 'b']), undefined);
    assert.deepEqual(divergenceOf(['a', 'b', 'c'], ['a', 'b', 'd']), {
      node: 'b',
      index: 2,
      recorded: 'c',
      candidate: 'd',
    });
    assert.deepEqual(divergenceOf(['a'], ['x']), { node: null, index: 0, recorded: 'a', candidate: 'x' });
    // One path ends where the other goes on.
    assert.deepEqual(divergenceOf(['a', 'b'], ['a']), { node: 'a', index: 1, recorded: 'b', candidate: null });
    assert.deepEqual(divergenceOf(['a'], ['a', 'b']), { node: 'a', index: 1, recorded: null, candidate: 'b' });
    assert.deepEqual(divergenceOf([], ['a']), { node: null, index: 0, recorded: null, candidate: 'a' });
  });

  test("a test run's own state replays to its path: recordedMocks and pathOf agree with the run", async () => {
    const validated = validateDefinition({
      id: 'recorded',
      variables: [{ name: 'n', type: 'number', default: 3 }],
      nodes: [
        http('fetch', { output: 'got' }),
        { id: 'check', type: 'condition', expression: 'vars.got.v > vars.n' },
        { id: 'big', type: 'set', assign: { size: "'big'" } },
        http('ship'),
      ],
      edges: [
        { from: 'fetch', to: 'check' },
        { from: 'check', to: 'big', when: 'nodes.check.output' },
        { from: 'check', to: 'ship', default: true },
        { from: 'big', to: 'ship' },
      ],
    });
    if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
    const definition = validated.definition;
    const resolved = resolveRunInput(definition, {});
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.problems));
    const options = { now: '2026-01-01T00:00:00.000Z', pause: () => Promise.resolve() };
    const first = await runDefinitionTest(
      definition,
      {},
      resolved.variables,
      { fetch: { output: { v: 5 } }, ship: { error: { type: 'HttpError', message: '503' } } },
      options,
    );
    assert.deepEqual(first.path, ['fetch', 'check', 'big', 'ship']);
    assert.deepEqual(pathOf(first.history), first.path);
    const { mocks, masked } = recordedMocks(definition, first.nodes);
    assert.deepEqual(mocks, {
      fetch: { output: { v: 5 } },
      ship: { error: { type: 'HttpError', message: '503' } },
    });
    assert.deepEqual(masked, []);
    const again = await runDefinitionTest(definition, {}, resolved.variables, mocks, options);
    assert.deepEqual(again.path, first.path);
    assert.equal(again.status, first.status);
  });
});
