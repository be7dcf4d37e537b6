/**
 * The graph-fuzz invariants (test/support/graph-fuzz-run.ts) can fail: a run state and history
 * made up to break each one is reported, naming the node, and a run that keeps them is not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunStateView } from '../../interpreter/run-state.js';
import { checkInvariants } from '../support/graph-fuzz-run.js';
import type { Compiled } from '../support/graph-fuzz.js';

const compiled: Compiled = {
  definition: {},
  facts: {
    dead: { type: 'set', dead: true, visits: 1 },
    j: { type: 'join', dead: false, visits: 1, join: { mode: 'all', incoming: 2 } },
    t: { type: 'task', dead: false, visits: 1, attempts: 2 },
    body: { type: 'set', dead: false, visits: 2 },
  },
  loops: [{ nodes: ['body'], times: 2 }],
};

const transition = (node: string, to: string) => ({ at: '2026-12-03T00:00:00Z', node, to });

function state(
  nodes: Record<string, string>,
  history: Array<[string, string]>,
  status: RunStateView['status'] = 'completed',
): RunStateView {
  return {
    workflow_id: 'w',
    instance_id: 'i',
    definition_id: 'd',
    definition_version: '1',
    status,
    current_node: null,
    active_nodes: [],
    variables: {},
    nodes: Object.fromEntries(Object.entries(nodes).map(([id, s]) => [id, { status: s as never, attempts: 0 }])),
    history: history.map(([node, to]) => transition(node, to)),
    cost: { usd: 0, tokens: { input: 0, output: 0 } },
  };
}

/** A history with one connector activity of node `t` whose last attempt was `attempt`. */
const activity = (attempt: number) =>
  ({
    events: [
      {
        eventId: 5,
        activityTaskScheduledEventAttributes: { activityType: { name: 'runConnector' } },
        userMetadata: { summary: { data: Buffer.from(JSON.stringify('t')) } },
      },
      { eventId: 6, activityTaskStartedEventAttributes: { scheduledEventId: 5, attempt } },
    ],
  }) as never;

const good = state({ dead: 'skipped', j: 'completed', t: 'completed', body: 'completed' }, [
  ['dead', 'skipped'],
  ['j', 'completed'],
  ['t', 'completed'],
  ['body', 'completed'],
  ['body', 'completed'],
]);

describe('graph-fuzz invariants', () => {
  test('a run that keeps them all reports nothing', () => {
    assert.deepEqual(checkInvariants(compiled, good, activity(2)), []);
  });

  test('each broken invariant is reported, naming the node', () => {
    const bad = state({ dead: 'completed', j: 'completed', t: 'running', body: 'completed' }, [
      ['dead', 'completed'],
      ['j', 'completed'],
      ['j', 'completed'],
      ['body', 'completed'],
      ['body', 'completed'],
      ['body', 'completed'],
    ]);
    const problems = checkInvariants(compiled, bad, activity(4));
    const expected = [
      /every run ends: node "t" is "running"/,
      /a join fires once: join "j" completed 2 times/,
      /dead paths propagate: node "dead" on a branch not taken ran/,
      /dead paths propagate: node "dead" .* ended "completed", not skipped/,
      /retries are bounded: node "t" made 4 attempts, bound 3/,
      /loops are bounded: "body" completed 3 times, guard 2/,
    ];
    for (const pattern of expected)
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `${pattern}: ${problems.join('\n')}`,
      );
    assert.equal(problems.length, expected.length + 1, problems.join('\n')); // + "expected 2" for the loop
  });

  test('work left running or waiting in a closed run is reported, after an end node too', () => {
    const ended = state(
      {
        ...Object.fromEntries(Object.keys(compiled.facts).map((id) => [id, 'completed'])),
        t: 'waiting',
        stop: 'completed',
      },
      [],
    );
    assert.match(
      checkInvariants(compiled, ended, activity(1)).join('\n'),
      /every run ends: node "t" is "waiting" in a completed run/,
    );
    const failed = state({ dead: 'skipped', j: 'completed', t: 'running', body: 'completed' }, [], 'failed');
    assert.match(
      checkInvariants(compiled, failed, activity(1)).join('\n'),
      /every run ends: node "t" is "running" in a failed run/,
    );
    const cut = state({ dead: 'skipped', j: 'pending', t: 'cancelled', body: 'completed', stop: 'completed' }, []);
    assert.doesNotMatch(checkInvariants(compiled, cut, activity(1)).join('\n'), /every run ends/);
  });

  test('a run left open or paused is not an ended run', () => {
    const paused = { ...good, status: 'paused' as const };
    assert.match(checkInvariants(compiled, paused, activity(1)).join('\n'), /every run ends: .*"paused"/);
  });
});
