/**
 * The worker's memory budget (`resource_limits.memory_mb`, activities/memory-budget.ts): calls
 * reserve their MB, wait in line first come first served while they do not fit, a cancelled wait
 * leaves holding nothing, and a call over the whole budget is refused for good.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MemoryBudget, defaultMemoryBudgetMb, processMemoryBudget } from '../../activities/memory-budget.js';

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

test('calls reserve while they fit; the rest wait and are admitted in order as memory is released', async () => {
  const budget = new MemoryBudget(100);
  const first = await budget.reserve(40);
  const second = await budget.reserve(40);
  assert.equal(budget.reservedMb, 80);
  const third = budget.reserve(40);
  const fourth = budget.reserve(10);
  assert.equal(await settled(third), false);
  // First come, first served: the small call behind the large one waits too (no starvation).
  assert.equal(await settled(fourth), false);
  assert.equal(budget.waiting, 2);
  first();
  first(); // a release counts once
  const releaseThird = await third;
  const releaseFourth = await fourth;
  assert.equal(budget.reservedMb, 90);
  assert.equal(budget.waiting, 0);
  second();
  releaseThird();
  releaseFourth();
  assert.equal(budget.reservedMb, 0);
});

test('a call of exactly the budget runs alone; one over it is refused at once, not retryable, naming memory_mb and the budget', async () => {
  const budget = new MemoryBudget(100);
  const whole = await budget.reserve(100);
  whole();
  await assert.rejects(budget.reserve(101), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'MemoryBudgetExceeded');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /memory_mb is 101 MB, more than this worker's whole memory budget of 100 MB/);
    return true;
  });
  assert.equal(budget.reservedMb, 0);
});

test('a cancelled wait gives its place up holding nothing, and lets the ones behind it in', async () => {
  const budget = new MemoryBudget(100);
  const held = await budget.reserve(70);
  const cancel = new AbortController();
  const big = budget.reserve(50, cancel.signal);
  const small = budget.reserve(30);
  assert.equal(await settled(small), false, 'behind the big one in line');
  cancel.abort(new Error('cancelled'));
  await assert.rejects(big, /cancelled/);
  const releaseSmall = await small;
  assert.equal(budget.reservedMb, 100);
  held();
  releaseSmall();
  assert.equal(budget.reservedMb, 0);
  assert.equal(budget.waiting, 0);
  // Already cancelled: refused without joining the line.
  await assert.rejects(budget.reserve(10, cancel.signal), /cancelled/);
  assert.equal(budget.waiting, 0);
});

test('the budget is a whole number of MB; by default half the host memory, shared by the workers of a process', () => {
  assert.throws(() => new MemoryBudget(0), /whole number/);
  assert.throws(() => new MemoryBudget(1.5), /whole number/);
  assert.ok(defaultMemoryBudgetMb() >= 1);
  assert.equal(processMemoryBudget().totalMb, defaultMemoryBudgetMb());
  assert.equal(processMemoryBudget(64), processMemoryBudget(64));
});
