/**
 * What a run's result is: `options.result` evaluated when the run completes, an `end` node's own
 * `result` before it, the final variables by default; checked at submit like every expression.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { viewRunState } from '../../interpreter/run-state.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { httpTask as http, simulate } from '../support/simulate.js';

const response = { status: 200, headers: { 'content-type': 'application/json', date: 'today' }, body: { score: 7 } };
const lead = (options: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  id: 'lead',
  variables: [{ name: 'name', type: 'string', default: 'Ada' }],
  nodes: [http('fetch', { output: 'crm' }), { id: 'mark', type: 'set', assign: { seen: 'true' } }],
  edges: [{ from: 'fetch', to: 'mark' }],
  options,
  ...extra,
});

describe('the run result', () => {
  test('by default it is the final variables, exactly', async () => {
    const sim = await simulate(lead(), { fetch: { output: response } });
    assert.deepEqual(sim.closing, { type: 'complete', result: { name: 'Ada', crm: response, seen: true } });
  });

  test('options.result is evaluated over the final context when the run completes', async () => {
    const result = '{ "who": vars.name, "score": vars.crm.body.score, "status": nodes.mark.status, "run": run.id }';
    const sim = await simulate(lead({ result }), { fetch: { output: response } });
    assert.deepEqual(sim.closing, {
      type: 'complete',
      result: { who: 'Ada', score: 7, status: 'completed', run: 'sim-1' },
    });
  });

  test("an end node's own result wins; an end node without one gives options.result", async () => {
    const ending = (end: Record<string, unknown>) => {
      const raw = lead({ result: 'vars.crm.body' });
      raw.nodes.push({ id: 'stop', type: 'end', ...end } as never);
      raw.edges.push({ from: 'mark', to: 'stop' });
      return raw;
    };
    const own = await simulate(ending({ result: '"own"' }), { fetch: { output: response } });
    assert.deepEqual(own.closing, { type: 'complete', result: 'own' });
    const bare = await simulate(ending({}), { fetch: { output: response } });
    assert.deepEqual(bare.closing, { type: 'complete', result: { score: 7 } });
  });

  test('an options.result that fails to evaluate fails the run with ExpressionError', async () => {
    const sim = await simulate(lead({ result: '$number(vars.name)' }), { fetch: { output: response } });
    assert.equal(sim.closing?.type, 'fail');
    assert.equal(sim.state.error?.type, 'ExpressionError');
    assert.match(sim.state.error?.message ?? '', /^options\.result: expression .* Unable to cast value to a number/);
  });

  test('a result read from a secret is masked whole in the view', async () => {
    const raw = lead(
      { result: '{ "token": vars.token, "who": vars.name }' },
      {
        variables: [
          { name: 'name', type: 'string', default: 'Ada' },
          { name: 'token', type: 'string', secret: true },
        ],
      },
    );
    const sim = await simulate(raw, { fetch: { output: response } }, { token: 'tok-123456' });
    const validated = validateDefinition(raw);
    assert.ok(validated.ok);
    const view = viewRunState(validated.definition, sim.state, { workflow_id: 'w', instance_id: 'r' });
    assert.equal(view.result, '***');
    const plain = lead({ result: 'vars.name' });
    const plainSim = await simulate(plain, { fetch: { output: response } });
    const plainDefinition = validateDefinition(plain);
    assert.ok(plainDefinition.ok);
    assert.equal(
      viewRunState(plainDefinition.definition, plainSim.state, { workflow_id: 'w', instance_id: 'r' }).result,
      'Ada',
    );
  });
});

describe('options.result at submit', () => {
  const problems = (result: unknown) => {
    const validated = validateDefinition(lead({ result }));
    return validated.ok ? [] : validated.problems.map((p) => [p.path, p.message]);
  };

  test('a valid expression is accepted', () => assert.deepEqual(problems('vars.crm.body'), []));
  test('not a string, or empty', () => {
    assert.deepEqual(problems(5), [['/options/result', 'Invalid input: expected string, received number']]);
    assert.deepEqual(problems(''), [['/options/result', 'expected a JSONata expression']]);
  });
  test('a syntax error points at the field', () => {
    const found = problems('vars.crm.');
    assert.equal(found.length, 1);
    assert.equal(found[0]?.[0], '/options/result');
  });
  test('names resolve against the completion context: no error, no item', () => {
    assert.deepEqual(problems('vars.crn.body'), [
      [
        '/options/result',
        '"vars.crn": no variable "crn" is declared, or written by a node\'s output or a set node; did you mean "vars.crm"?',
      ],
    ]);
    assert.equal(problems('error.message')[0]?.[0], '/options/result');
    assert.equal(problems('item')[0]?.[0], '/options/result');
    assert.equal(problems('nodes.fetc.output')[0]?.[0], '/options/result');
  });
});
