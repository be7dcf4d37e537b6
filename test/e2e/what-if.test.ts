/**
 * What-if replay of production (issue 15): 20 real runs of v1 (a local HTTP task, then a
 * condition on the input and the task's answer) are replayed on a v2 that moves the condition's
 * threshold; the report names exactly the runs whose path changes and where each diverges. The
 * replay calls nothing: the HTTP server counts its requests, and its answer has changed since the
 * runs were recorded (so a real call would change every path). `weft replay` prints the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allowEgress } from '../support/egress.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { until } from '../support/poll.js';
import { runWeft } from '../support/weft-cli.js';

const ID = `what-if-${Date.now().toString(36)}`;
const AMOUNTS = Array.from({ length: 20 }, (_, i) => i * 5);

let stack: TestStack;
let target: HttpTarget;
let bonus = 0;
let revoke: () => void;
/** amount → run id */
const runOf = new Map<number, string>();

const definition = (threshold: number, extra: { notify?: boolean } = {}) => ({
  id: ID,
  variables: [{ name: 'amount', type: 'number', required: true }],
  nodes: [
    {
      id: 'score',
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url: `${target.url}/score?amount={{ vars.amount }}` },
      output: 'scored',
    },
    ...(extra.notify
      ? [{ id: 'notify', type: 'task', connector: 'http', action: 'request', inputs: { url: `${target.url}/notify` } }]
      : []),
    { id: 'check', type: 'condition', expression: `vars.amount + vars.scored.body.bonus > ${threshold}` },
    { id: 'high', type: 'set', assign: { tier: '"high"' } },
    { id: 'low', type: 'set', assign: { tier: '"low"' } },
  ],
  edges: [
    ...(extra.notify
      ? [
          { from: 'score', to: 'notify' },
          { from: 'notify', to: 'check' },
        ]
      : [{ from: 'score', to: 'check' }]),
    { from: 'check', to: 'high', when: 'nodes.check.output' },
    { from: 'check', to: 'low', default: true },
  ],
});

before(async () => {
  target = await startHttpTarget({
    '/score': (_req, res) => json(res, 200, { bonus }),
    '/notify': (_req, res) => json(res, 200, { ok: true }),
  });
  revoke = allowEgress(target.url);
  stack = await startTestStack();
  assert.equal((await stack.call('POST', '/v1/definitions', definition(50))).status, 201);
  const started = await Promise.all(
    AMOUNTS.map(async (amount) => {
      const response = await stack.call('POST', `/v1/definitions/${ID}/runs`, { input: { amount } });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return [amount, response.body.run_id as string] as const;
    }),
  );
  for (const [amount, runId] of started) {
    const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
    runOf.set(amount, runId);
  }
  // Visibility is eventually consistent: wait until the listing shows every recorded run.
  await until('the 20 runs listed as completed', async () => {
    const listed = await stack.call('GET', `/v1/runs?definition_id=${ID}&version=1&status=completed&page_size=100`);
    return listed.body.items?.length === AMOUNTS.length ? true : undefined;
  });
  // v2 and v3 are candidates; production stays on v1.
  assert.equal((await stack.call('POST', '/v1/definitions', definition(70))).status, 201);
  assert.equal((await stack.call('POST', '/v1/definitions', definition(50, { notify: true }))).status, 201);
  assert.equal((await stack.call('PUT', `/v1/definitions/${ID}/active`, { version: '1' })).status, 200);
  // Since the runs were recorded the server answers differently: a real call would send every run "high".
  bonus = 1000;
});

after(async () => {
  revoke?.();
  await stack?.close();
  await target?.close();
});

const weft = (args: string[]) => runWeft(stack.gateway.url, args);

describe('POST /v1/definitions/{id}/what-if', () => {
  test('v2 moves the threshold: exactly the runs whose path changes, and where each diverges', async () => {
    const calls = target.requests.length;
    const response = await stack.call('POST', `/v1/definitions/${ID}/what-if`, { version: '2' });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const report = response.body;
    assert.equal(report.source_version, '1', 'the active version by default');
    assert.equal(report.version, '2');
    assert.deepEqual(report.summary, { runs: 20, same: 16, different: 4, cannot_run: 0 });
    const changed = new Set([55, 60, 65, 70].map((a) => runOf.get(a)));
    for (const run of report.runs) {
      const amount = [...runOf].find(([, id]) => id === run.run_id)?.[0];
      assert.notEqual(amount, undefined, `run ${run.run_id} is one of ours`);
      const was = (amount as number) > 50 ? 'high' : 'low';
      assert.deepEqual(run.recorded, { status: 'completed', path: ['score', 'check', was] });
      assert.equal(run.definition_version, '1');
      if (changed.has(run.run_id)) {
        assert.equal(run.outcome, 'different', JSON.stringify(run));
        assert.deepEqual(run.divergence, { node: 'check', index: 2, recorded: 'high', candidate: 'low' });
        assert.deepEqual(run.candidate.path, ['score', 'check', 'low']);
      } else {
        assert.equal(run.outcome, 'same', JSON.stringify(run));
        assert.equal(run.divergence, undefined);
        assert.deepEqual(run.candidate.path, run.recorded.path);
      }
      assert.equal(run.candidate.status, 'completed');
    }
    assert.equal(target.requests.length, calls, 'the replay called nothing');
  });

  test('a candidate with a node the recordings never ran cannot run, naming the node', async () => {
    const response = await stack.call('POST', `/v1/definitions/${ID}/what-if`, {
      version: '3',
      runs: [runOf.get(0), runOf.get(95)],
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.source_version, null);
    assert.deepEqual(response.body.summary, { runs: 2, same: 0, different: 0, cannot_run: 2 });
    assert.deepEqual(
      response.body.runs.map((r: any) => r.run_id),
      [runOf.get(0), runOf.get(95)],
    );
    for (const run of response.body.runs) {
      assert.equal(run.outcome, 'cannot_run');
      assert.equal(run.missing.node, 'notify');
      assert.match(run.missing.message, /not mocked/);
    }
  });

  test('limit, source_version and the candidate itself: the same version replays the same path', async () => {
    const response = await stack.call('POST', `/v1/definitions/${ID}/what-if`, {
      version: '1',
      source_version: '1',
      limit: 5,
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.summary, { runs: 5, same: 5, different: 0, cannot_run: 0 });
    // A version without recorded runs has nothing to replay.
    const none = await stack.call('POST', `/v1/definitions/${ID}/what-if`, { version: '1', source_version: '2' });
    assert.equal(none.status, 200);
    assert.deepEqual(none.body.summary, { runs: 0, same: 0, different: 0, cannot_run: 0 });
  });

  test('bad input is refused naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, '/version', /expected/],
      [{ version: 'two' }, '/version', /expected a version/],
      [{ version: '9' }, '/version', /no version "9"/],
      [{ version: '2', source_version: '9' }, '/source_version', /no version "9"/],
      [{ version: '2', limit: 0 }, '/limit', /1 to 100/],
      [{ version: '2', limit: 101 }, '/limit', /1 to 100/],
      [{ version: '2', runs: [] }, '/runs', /at least one/],
      [{ version: '2', runs: ['a', 'a'] }, '/runs/1', /listed twice/],
      [{ version: '2', runs: [runOf.get(0)], limit: 3 }, '/limit', /does not go with "runs"/],
      [{ version: '2', runs: ['no-such-run'] }, '/runs/0', /no run "no-such-run"/],
      [{ version: '2', surprise: true }, '', /surprise/],
    ];
    for (const [body, path, message] of cases) {
      const response = await stack.call('POST', `/v1/definitions/${ID}/what-if`, body);
      assert.equal(response.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      const detail = response.body.error.details.find(
        (d: any) => d.path === path || (path === '' && message.test(d.message)),
      );
      assert.ok(detail, `${JSON.stringify(body)}: ${JSON.stringify(response.body.error.details)}`);
      assert.match(detail.message, message);
    }
    const missing = await stack.call('POST', '/v1/definitions/no-such-definition/what-if', { version: '1' });
    assert.equal(missing.status, 404);
  });
});

describe('weft replay --definition --against-version', () => {
  test('prints each run, DIFFERENT ones with where they split, and exits 1', async () => {
    const outcome = await weft(['replay', '--definition', ID, '--against-version', '2']);
    assert.equal(outcome.code, 1, outcome.stdout + outcome.stderr);
    const different = outcome.stdout.split('\n').filter((line) => / DIFFERENT /.test(line));
    assert.equal(different.length, 4, outcome.stdout);
    for (const amount of [55, 60, 65, 70]) {
      const line = different.find((l) => l.startsWith(`${runOf.get(amount)} `));
      assert.ok(line, `${runOf.get(amount)} in ${outcome.stdout}`);
      assert.match(line, /after check: recorded high, candidate low/);
    }
    assert.match(outcome.stdout, /^16 same, 4 different, 0 cannot run$/m);
    const same = await weft(['replay', '--definition', ID, '--against-version', '1', '--limit', '3']);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /^3 same, 0 different, 0 cannot run$/m);
  });
});
