/**
 * Graph fuzzing, the short seed-fixed profile (`npm run fuzz` is the long one): random valid
 * definitions over every node type (test/support/graph-fuzz.ts) run on the dev server, each
 * history and its children's replayed against the current code, and the interpreter's
 * invariants checked: every run ends (none stuck), a join fires once, dead paths propagate,
 * retries and loops stay within their bounds. A failure prints its seed and plan; paste the
 * plan into `REGRESSIONS` to keep it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowNode } from '../../interpreter/definition-schema.js';
import { fuzzPlans, type Plan } from '../support/graph-fuzz.js';
import { describeFailure, fuzz } from '../support/graph-fuzz-run.js';

const SEED = 20_261_203;
const RUNS = 40;

/** Plans that once failed (from `describeFailure`), kept as regressions. */
const REGRESSIONS: Array<{ seed: number; index: number; plan: Plan }> = [];

describe('graph fuzz', () => {
  test(`${RUNS} random definitions run, replay and keep the invariants (seed ${SEED})`, async () => {
    const plans = [...fuzzPlans(SEED, RUNS), ...REGRESSIONS.map((r) => r.plan)];
    const report = await fuzz(SEED, plans, 3);
    assert.equal(report.runs, plans.length);
    assert.deepEqual(report.failures.map(describeFailure), []);
    // The profile is worth something only if it reaches every node type and both outcomes.
    const types = WorkflowNode.options.map((o) => o.shape.type.value);
    assert.deepEqual(
      types.filter((t) => !report.types[t]),
      [],
      `node types never generated: ${JSON.stringify(report.types)}`,
    );
    assert.ok(report.completed > 0 && report.failed > 0, `completed ${report.completed}, failed ${report.failed}`);
  });
});
