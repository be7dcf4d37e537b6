/**
 * An `event` node whose correlation key evaluates to null hears only events without a key, as
 * its keyless mailbox sends them (README, "Defaults"); runs recorded before this rule replay as
 * they ran, when such a wait also took keyed events (`patched('weft-keyless-wait-only')`, asked
 * only when a keyed event meets a null-key wait).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventMatches } from '../../interpreter/engine.js';
import type { RunState } from '../../interpreter/run-state.js';

const state = {} as RunState;
const keyless = { event_type: 'notice', correlation_key: null };
const keyed = { event_type: 'notice', correlation_key: 'k-1' };

test('a null-key wait takes keyless events and ignores keyed ones', async () => {
  assert.equal(await eventMatches(state, keyless, { event_type: 'notice', payload: {} }), true);
  assert.equal(await eventMatches(state, keyless, { event_type: 'notice', correlation_key: null, payload: {} }), true);
  assert.equal(
    await eventMatches(state, keyless, { event_type: 'notice', correlation_key: 'k-1', payload: {} }),
    false,
  );
  assert.equal(await eventMatches(state, keyless, { event_type: 'notice', correlation_key: 0, payload: {} }), false);
});

test('a keyed wait takes only its own key, never a keyless event', async () => {
  assert.equal(await eventMatches(state, keyed, { event_type: 'notice', correlation_key: 'k-1', payload: {} }), true);
  assert.equal(await eventMatches(state, keyed, { event_type: 'notice', correlation_key: 'k-2', payload: {} }), false);
  assert.equal(await eventMatches(state, keyed, { event_type: 'notice', payload: {} }), false);
});

test('the rule is asked only when a keyed event meets a null-key wait; a run recorded before it takes the event', async () => {
  let asked = 0;
  const before = () => {
    asked++;
    return false;
  };
  assert.equal(await eventMatches(state, keyless, { event_type: 'notice', payload: {} }, before), true);
  assert.equal(
    await eventMatches(state, keyed, { event_type: 'notice', correlation_key: 'k-1', payload: {} }, before),
    true,
  );
  assert.equal(asked, 0, 'not asked when the rule changes nothing');
  assert.equal(
    await eventMatches(state, keyless, { event_type: 'notice', correlation_key: 'k-1', payload: {} }, before),
    true,
  );
  assert.equal(asked, 1);
});
