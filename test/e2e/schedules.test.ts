/**
 * Schedule triggers become Temporal Schedules owned by the active version: created on submit,
 * replaced when another version is activated, removed when the active version has none; a
 * triggered schedule starts a run (same workflow, memo and search attributes as a gateway
 * start) that completes. Bad cron expressions are refused at submit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, type Client, type Connection } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { DefinitionIdKey } from '../../src/shared/search-attributes.js';
import { pluck, startTestStack, type TestStack } from '../support/gateway.js';
import { connectClient, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let stack: TestStack;
let client: Client;
let connection: Connection;
const created: string[] = [];

before(async () => {
  stack = await startTestStack();
  ({ client, connection } = await connectClient());
});
after(async () => {
  // Leave no schedule behind on the shared server, whatever the test got to.
  for (const id of created)
    await client?.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  await connection?.close();
  await stack?.close();
});

function reporting(id: string, triggers: unknown[]) {
  return {
    id,
    name: 'Nightly report',
    variables: [
      { name: 'label', type: 'string', required: true },
      { name: 'shout', type: 'string' },
    ],
    nodes: [{ id: 'shout', type: 'set', assign: { shout: "$uppercase(vars.label) & '!'" } }],
    triggers,
  };
}

const schedule = (id: string, index: number) => {
  created.push(`weft-${id}-${index}`);
  return client.schedule.getHandle(`weft-${id}-${index}`);
};

async function absent(id: string, index: number): Promise<boolean> {
  try {
    await schedule(id, index).describe();
    return false;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return true;
    throw err;
  }
}

const range = (r: any): unknown[] => [r.start, r.end, r.step];

describe('schedules', () => {
  test('follow the active version: created, replaced, removed', async () => {
    const id = unique('nightly');
    const v1 = await stack.call(
      'POST',
      '/v1/definitions',
      reporting(id, [{ type: 'webhook' }, { type: 'schedule', cron: '30 4 * * *', input: { label: 'from v1' } }]),
    );
    assert.equal(v1.status, 201, JSON.stringify(v1.body));

    // Index 1 in `triggers`, so the id names the trigger it came from.
    const first = await schedule(id, 1).describe();
    const [calendar] = first.spec.calendars ?? [];
    assert.deepEqual(calendar?.hour?.map(range), [[4, 4, 1]]);
    assert.deepEqual(calendar?.minute?.map(range), [[30, 30, 1]]);
    assert.equal(first.action.type, 'startWorkflow');
    assert.equal(first.action.workflowType, 'interpret');
    assert.equal(first.action.taskQueue, stack.config.taskQueue);
    const args = first.action.args as any[];
    assert.equal(args[0].definition.version, '1');
    assert.deepEqual(args[0].input, { label: 'from v1' });
    assert.equal(first.action.memo?.definition_id, id);
    assert.equal((first.action.typedSearchAttributes as TypedSearchAttributes).get(DefinitionIdKey), id);
    assert.ok(await absent(id, 0));

    // v2 becomes active (latest, nothing chosen): its schedule replaces v1's.
    const v2 = await stack.call(
      'POST',
      '/v1/definitions',
      reporting(id, [
        { type: 'schedule', cron: '0 12 * * MON-FRI', timezone: 'Europe/Paris', input: { label: 'from v2' } },
      ]),
    );
    assert.equal(v2.status, 201);
    const second = await schedule(id, 0).describe();
    assert.deepEqual(second.spec.calendars?.[0]?.hour?.map(range), [[12, 12, 1]]);
    assert.deepEqual(second.spec.calendars?.[0]?.dayOfWeek?.map(range), [['MONDAY', 'FRIDAY', 1]]);
    assert.equal(second.spec.timezone, 'Europe/Paris');
    assert.equal((second.action.args as any[])[0].definition.version, '2');
    assert.ok(await absent(id, 1), 'the v1 schedule is gone');

    // Activating v1 again brings its schedule back and removes v2's.
    assert.equal((await stack.call('PUT', `/v1/definitions/${id}/active`, { version: '1' })).status, 200);
    assert.equal(((await schedule(id, 1).describe()).action.args as any[])[0].definition.version, '1');
    assert.ok(await absent(id, 0));

    // A version without schedule triggers, once active, leaves none.
    await stack.call('POST', '/v1/definitions', reporting(id, []));
    assert.ok(!(await absent(id, 1)), 'v1 is still the explicitly chosen active version');
    assert.equal((await stack.call('PUT', `/v1/definitions/${id}/active`, { version: '3' })).status, 200);
    assert.ok(await absent(id, 0));
    assert.ok(await absent(id, 1));
  });

  test('a triggered schedule starts a run of the active version that completes', async () => {
    const id = unique('triggered');
    await stack.call(
      'POST',
      '/v1/definitions',
      reporting(id, [{ type: 'schedule', cron: '0 0 1 1 *', input: { label: 'scheduled' } }]),
    );
    const handle = schedule(id, 0);
    await handle.trigger();
    const runId = await until(
      'the schedule to start a run (within 20 s)',
      async () => {
        const described = await handle.describe();
        const actions = [...described.info.recentActions.map((r) => r.action), ...described.info.runningActions];
        return actions.find((a) => a.type === 'startWorkflow')?.workflow.workflowId;
      },
      20_000,
    );
    assert.ok(runId.startsWith(`${id}-schedule-0`), runId);

    const result = await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}/result?wait=true`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.status, 'completed');
    assert.equal(result.body.result.shout, 'SCHEDULED!');
    const state = await stack.call('GET', `/v1/runs/${encodeURIComponent(runId)}`);
    assert.equal(state.body.definition_id, id);
    assert.equal(state.body.definition_version, '1');
  });

  test('bad schedule triggers are refused at submit, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ type: 'schedule', cron: 'every day', input: { label: 'x' } }, '/triggers/0/cron'],
      [{ type: 'schedule', cron: '61 * * * *', input: { label: 'x' } }, '/triggers/0/cron'],
      [{ type: 'schedule', cron: '* * * * ? *', input: { label: 'x' } }, '/triggers/0/cron'],
      [
        { type: 'schedule', cron: '0 9 * * *', timezone: 'Mars/Olympus', input: { label: 'x' } },
        '/triggers/0/timezone',
      ],
      [{ type: 'schedule', cron: '0 9 * * *' }, '/triggers/0/input/label'],
      [{ type: 'schedule', cron: '0 9 * * *', input: { label: 7 } }, '/triggers/0/input/label'],
    ];
    for (const [trigger, path] of cases) {
      const response = await stack.call('POST', '/v1/definitions', reporting(unique('bad-cron'), [trigger]));
      assert.equal(response.status, 400, JSON.stringify(trigger));
      assert.deepEqual(pluck(response.body.error.details, 'path'), [path], JSON.stringify(response.body.error.details));
    }
    for (const cron of [
      '@hourly',
      '@every 90s',
      '*/15 9-17 * JAN-MAR mon-fri',
      '0 0 12 1 * * 2030',
      'CRON_TZ=UTC 5 4 * * SUN',
    ]) {
      const response = await stack.call(
        'POST',
        '/v1/definitions/validate',
        reporting(unique('good-cron'), [{ type: 'schedule', cron, input: { label: 'x' } }]),
      );
      assert.equal(response.status, 200, `${cron}: ${JSON.stringify(response.body)}`);
    }
  });
});
