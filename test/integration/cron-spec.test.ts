/**
 * The gateway's cron check agrees with the Temporal server: generated cron expressions (seeded)
 * are both checked by `cronProblem` and offered to a real Temporal Schedule. Whatever the
 * gateway accepts, Temporal must accept (else a submit would fail after storing); and the
 * gateway should not refuse what Temporal takes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import fc from 'fast-check';
import { cronProblem } from '../../src/gateway/cron-spec.js';
import { connectClient, unique } from '../support/temporal.js';

let client: Client;
let connection: Connection;
before(async () => {
  ({ client, connection } = await connectClient());
});
after(async () => {
  await connection?.close();
});

const token = fc.constantFrom(
  '*',
  '0',
  '5',
  '7',
  '23',
  '31',
  '59',
  '60',
  '2000',
  '2100',
  '1999',
  'MON',
  'mon',
  'Tu',
  'sun',
  'JAN',
  'january',
  'Dec',
  'x',
  '?',
  'L',
  'm',
  '1-5',
  '5-1',
  '0-7',
  '3-7/2',
  '*/15',
  '3/7',
  '1-5/2',
  '*/0',
  '1,2',
  '1,,2',
  '-1',
  '1--2',
  '*/',
  '/5',
  'MON-FRI',
);
const fields = fc.array(token, { minLength: 4, maxLength: 8 }).map((parts) => parts.join(' '));
const cron = fc.oneof(
  { weight: 6, arbitrary: fields },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '@hourly',
      '@daily',
      '@midnight',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '@every 1s',
      '@every 90s',
      '@every 1h30m',
      '@every 500ms',
      '@every 10',
      '@every',
      '@everyday',
      '@every 1h/15m',
      '@every 1h/2h',
      '@reboot',
      'CRON_TZ=UTC 0 * * * *',
      'TZ=Europe/Paris 0 9 * * 1',
      'CRON_TZ=Nowhere/Land 0 * * * *',
      'CRON_TZ=UTC',
      '0 9 * * * # a comment',
      '# only a comment',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.tuple(fields, fc.constantFrom(' ', '  ', '\t')).map(([f, sep]) => f.replace(/ /g, sep)) },
);

/** Whether the Temporal server accepts `expression` as a schedule's cron. */
async function temporalAccepts(expression: string): Promise<boolean> {
  const scheduleId = unique('cron-probe');
  try {
    const handle = await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: [expression] },
      action: { type: 'startWorkflow', workflowType: 'interpret', taskQueue: unique('never-polled'), args: [] },
      state: { paused: true },
    });
    await handle.delete();
    return true;
  } catch (err) {
    if (err instanceof TypeError || (err as { cause?: { code?: number } }).cause?.code === 3) return false;
    throw err;
  }
}

test('cron expressions the gateway accepts are exactly those Temporal accepts', async () => {
  const disagreements: string[] = [];
  const seen = { accepted: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(cron, async (expression) => {
      const gateway = cronProblem(expression) === undefined;
      const temporal = await temporalAccepts(expression);
      // Accepting what Temporal refuses would fail a submit after the version is stored.
      assert.ok(!gateway || temporal, `the gateway accepts "${expression}" but Temporal refuses it`);
      if (gateway !== temporal) disagreements.push(expression);
      seen[temporal ? 'accepted' : 'refused']++;
    }),
    { seed: 424_242, numRuns: 300 },
  );
  assert.deepEqual(disagreements, [], 'the gateway refuses cron expressions Temporal accepts');
  // Both sides of the line were exercised, not just one.
  assert.ok(seen.accepted >= 30 && seen.refused >= 30, JSON.stringify(seen));
});
