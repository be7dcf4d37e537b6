/**
 * The cache in front of `weft_runs` (src/metrics/gateway-metrics.ts): one recount per stored
 * definition took seconds with 200 definitions, so a scrape serves the latest counts at once and
 * recounts in the background once they are older than RUN_COUNTS_REFRESH_MS, never twice at once;
 * the first scrape and one after RUN_COUNTS_MAX_AGE_MS wait for a count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RUN_COUNTS_MAX_AGE_MS, RUN_COUNTS_REFRESH_MS, cachedRunCounts } from '../../src/metrics/gateway-metrics.js';

test('weft_runs counts: served from the cache, recounted in the background, bounded in age', async () => {
  let clock = 0;
  let calls = 0;
  let release: (() => void) | undefined;
  const count = async () => {
    calls++;
    const n = calls;
    if (n === 2) await new Promise<void>((resolve) => (release = resolve));
    if (n === 4) throw new Error('Temporal unreachable');
    return [{ definition_id: 'd', status: 'running', count: n }];
  };
  const counts = cachedRunCounts(count, () => clock);

  assert.equal((await counts())[0]?.count, 1, 'the first scrape waits for a count');
  clock += RUN_COUNTS_REFRESH_MS;
  assert.equal((await counts())[0]?.count, 1, 'still fresh: no recount');
  assert.equal(calls, 1);

  clock += 1;
  assert.equal((await counts())[0]?.count, 1, 'stale: served at once, recounted in the background');
  assert.equal((await counts())[0]?.count, 1, 'while one recount runs, no second starts');
  assert.equal(calls, 2);
  release?.();
  await new Promise((r) => setImmediate(r));
  assert.equal((await counts())[0]?.count, 2, 'the recount is served');

  clock += RUN_COUNTS_MAX_AGE_MS + 1;
  assert.equal((await counts())[0]?.count, 3, 'too old: the scrape waits for a recount');
  clock += RUN_COUNTS_MAX_AGE_MS + 1;
  await assert.rejects(counts(), /Temporal unreachable/, 'too old and Temporal down: no stale series');
  assert.equal((await counts())[0]?.count, 5, 'the next scrape counts again');
});
