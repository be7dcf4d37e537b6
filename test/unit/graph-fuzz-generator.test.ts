/**
 * The graph-fuzz generator stays honest (test/support/graph-fuzz.ts): every plan it draws
 * compiles to a definition the validator accepts, the same plan compiles to the same
 * definition, and a sample reaches every node type of the schema, every join mode and every
 * error-handler action.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorHandler, WorkflowNode } from '../../interpreter/definition-schema.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { compile, fuzzPlans, planArb } from '../support/graph-fuzz.js';

const env = { target: 'http://127.0.0.1:9', caseId: 'unit' };

describe('graph-fuzz generator', () => {
  test('every plan compiles to a valid definition, the same each time', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const compiled = compile(plan, env);
        const checked = validateDefinition(compiled.definition);
        assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.problems));
        assert.deepEqual(compile(plan, env), compiled);
        // The facts name exactly the definition's nodes.
        const ids = (compiled.definition.nodes as Array<{ id: string }>).map((n) => n.id).sort();
        assert.deepEqual(Object.keys(compiled.facts).sort(), ids);
      }),
      { seed: 20_261_203, numRuns: 300 },
    );
  });

  test('a profile reaches every node type, join mode and handler action', () => {
    const compiled = fuzzPlans(20_261_203, 40).map((plan) => ({ plan, ...compile(plan, env) }));
    const facts = compiled.flatMap((c) => Object.values(c.facts));
    const types = WorkflowNode.options.map((o) => o.shape.type.value);
    assert.deepEqual(
      types.filter((t) => !facts.some((f) => f.type === t)),
      [],
    );
    assert.deepEqual(
      ['all', 'any', 'n'].filter((m) => !facts.some((f) => f.join?.mode === m)),
      [],
    );
    assert.ok(
      facts.some((f) => f.dead),
      'no node on a branch not taken',
    );
    assert.ok(
      compiled.some((c) => c.loops.length > 0),
      'no loop',
    );
    const actions = ErrorHandler.shape.action.options;
    assert.deepEqual(
      actions.filter((a) => !compiled.some((c) => c.plan.handler === a)),
      [],
    );
  });
});
