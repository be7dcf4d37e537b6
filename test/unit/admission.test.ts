/**
 * Admission by open runs (`src/gateway/admission.ts`) with a count the test controls: concurrent
 * starts never overshoot the limit, a burst shares one count, a refusal always rests on a count
 * asked after the request arrived, and starts are admitted again once runs are counted closed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenRunsAdmission, RECOUNT_MS } from '../../src/gateway/admission.js';

function harness(initial: number) {
  let clock = 0;
  let running = initial;
  let counts = 0;
  const admission = new OpenRunsAdmission({
    now: () => clock,
    count: async () => {
      counts += 1;
      const seen = running;
      await new Promise((resolve) => setImmediate(resolve));
      return seen;
    },
  });
  return {
    admission,
    advance: (ms: number) => (clock += ms),
    setRunning: (n: number) => (running = n),
    counts: () => counts,
  };
}

test('concurrent starts: exactly the room left is admitted, with one count for the burst', async () => {
  const h = harness(2);
  const answers = await Promise.all(Array.from({ length: 10 }, () => h.admission.admit(5)));
  assert.equal(answers.filter((a) => a.admitted).length, 3);
  // The first arrivals share one count; those the estimate refuses ask once more, together.
  assert.ok(h.counts() <= 2, `${h.counts()} counts`);
  for (const answer of answers) if (!answer.admitted) assert.equal(answer.open, 5);
});

test('starts in progress and made since the count are added to it until the next count', async () => {
  const h = harness(0);
  const first = await h.admission.admit(2);
  assert.ok(first.admitted);
  // Visibility has not seen the run yet: the gateway's own start still counts.
  const second = await h.admission.admit(2);
  assert.ok(second.admitted);
  if (second.admitted) second.done();
  if (first.admitted) first.done();
  // Within RECOUNT_MS the cached count (0) plus the 2 started since admits a third without asking...
  const counted = h.counts();
  const third = await h.admission.admit(3);
  assert.ok(third.admitted);
  assert.equal(h.counts(), counted);
  // ...and a refusal asks visibility again, which now sees the three runs.
  h.setRunning(3);
  h.advance(1);
  const fourth = await h.admission.admit(3);
  assert.equal(fourth.admitted, false);
  assert.equal(h.counts(), counted + 1);
});

test('a refusal recounts first: runs that closed since the cached count make room', async () => {
  const h = harness(3);
  assert.equal((await h.admission.admit(3)).admitted, false);
  const before = h.counts();
  h.setRunning(1);
  h.advance(RECOUNT_MS / 10); // the cached count is fresh, but it would refuse: a new count decides
  const again = await h.admission.admit(3);
  assert.ok(again.admitted);
  assert.equal(h.counts(), before + 1);
  // An admitted start within RECOUNT_MS reuses the count (no visibility call).
  const reused = await h.admission.admit(3);
  assert.ok(reused.admitted);
  assert.equal(h.counts(), before + 1);
  h.advance(RECOUNT_MS);
  await h.admission.admit(10);
  assert.equal(h.counts(), before + 2);
});
