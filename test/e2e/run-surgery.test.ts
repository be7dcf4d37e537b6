/**
 * Run surgery on the real dev server, a local HTTP server counting calls: a rerun from a middle
 * node repeats exactly the nodes from there on; a run failed on v1 by a wrong expression
 * completes when retried on v2, an incompatible v3 is refused with its problems; skipping a
 * running slow task cancels its call (the server sees the connection dropped) and the run goes on
 * with the given output. Every action is audited and the runs are linked both ways.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runWeft } from '../support/weft-cli.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { countedStep, json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { until } from '../support/poll.js';
import { connectClient, unique } from '../support/temporal.js';

let stack: TestStack;
let target: HttpTarget;
let openai: FakeOpenAi;
/** Slow calls whose connection the client dropped before an answer. */
let dropped = 0;

before(async () => {
  const step = (n: number) => (_req: unknown, res: Parameters<typeof json>[0]) => json(res, 200, { step: n });
  target = await startHttpTarget({
    '/a': step(1),
    '/b': step(2),
    '/c': step(3),
    '/d': step(4),
    // Never answers: only a cancelled call ends it, by dropping the connection.
    '/slow': (_req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) dropped++;
      });
    },
  });
  openai = await startFakeOpenAi();
  stack = await startTestStack({ ai: { baseURL: openai.url, apiKey: openai.apiKey } });
});
after(async () => {
  await stack?.close();
  await target?.close();
  await openai?.close();
});

const task = (id: string, extra: Record<string, unknown> = {}) => countedStep(target.url, id, extra);
const counts = (...paths: string[]) => paths.map((p) => target.count(`/${p}`));

async function submit(definition: Record<string, unknown>): Promise<string> {
  const created = await stack.call('POST', '/v1/definitions', definition);
  assert.ok(created.status === 201, JSON.stringify(created.body));
  return created.body.version as string;
}

async function finished(runId: string): Promise<any> {
  return (await stack.call('GET', `/v1/runs/${runId}/result?wait=true`)).body;
}

test('a rerun from a middle node of a completed run repeats exactly the nodes from there on', async () => {
  const id = unique('surgery-rerun');
  await submit({
    id,
    variables: [{ name: 'label', type: 'string', default: 'first' }],
    nodes: [
      task('a'),
      task('b'),
      task('c'),
      task('d', { inputs: { url: `${target.url}/d`, query: { label: '{{ vars.label }}' } } }),
    ],
    edges: [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'd' },
    ],
  });
  const before = counts('a', 'b', 'c', 'd');
  const original = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  assert.equal((await finished(original)).status, 'completed');
  assert.deepEqual(
    counts('a', 'b', 'c', 'd').map((n, i) => n - (before[i] as number)),
    [1, 1, 1, 1],
  );

  // Precise refusals, each naming its field.
  const unknownNode = await stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'nope' });
  assert.equal(unknownNode.status, 400, JSON.stringify(unknownNode.body));
  assert.equal(unknownNode.body.error.details[0].path, '/from');
  assert.match(unknownNode.body.error.details[0].message, /has no node "nope"; its nodes: a, b, c, d/);
  const badVariable = await stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'c', variables: { label: 5 } });
  assert.equal(badVariable.status, 400);
  assert.deepEqual(badVariable.body.error.details, [
    { path: '/variables/label', message: 'expected string for variable "label"' },
  ]);
  const noVersion = await stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'c', version: '9' });
  assert.equal(noVersion.status, 404);
  assert.equal(noVersion.body.error.details[0].path, '/version');
  const missingFrom = await stack.call('POST', `/v1/runs/${original}/rerun`, {});
  assert.equal(missingFrom.status, 400);
  assert.equal(missingFrom.body.error.details[0].path, '/from');
  const noRun = await stack.call('POST', `/v1/runs/${unique('no-such-run')}/rerun`, { from: 'c' });
  assert.equal(noRun.status, 404);

  const rerun = await stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'c', variables: { label: 'second' } });
  assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
  assert.deepEqual(rerun.body, { accepted: true, run_id: `${original}.rerun-1` });
  const rerunId = String(rerun.body.run_id);
  const result = await finished(rerunId);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.deepEqual(
    counts('a', 'b', 'c', 'd').map((n, i) => n - (before[i] as number)),
    [1, 1, 2, 2],
  );
  const lastD = target.requests.filter((r) => r.path === '/d').at(-1);
  assert.equal(lastD?.query.label, 'second');

  const state = (await stack.call('GET', `/v1/runs/${rerunId}`)).body;
  assert.equal(state.rerun_of, original);
  assert.ok(state.history.some((h: any) => h.to === 'rerun_of' && h.note === original));
  assert.ok(state.history.some((h: any) => h.to === 'rerun' && h.note === 'from c' && h.by === 'local-dev'));
  assert.equal(state.nodes.a.status, 'completed');
  assert.deepEqual(state.nodes.b.output.body, { step: 2 });
  assert.equal(state.variables.label, 'second');
  const linked = await until('the original to list its rerun', async () => {
    const body = (await stack.call('GET', `/v1/runs/${original}`)).body;
    return body.rerun_by ? body : undefined;
  });
  assert.deepEqual(linked.rerun_by, [rerunId]);

  const audit = (await stack.call('GET', `/v1/audit?action=run.rerun&target=${encodeURIComponent(original)}`)).body;
  assert.deepEqual(audit.items.map((e: any) => e.status).sort(), [202, 400, 400, 400, 404].sort());

  // The same from the command line: a second rerun, a usage error, and the link in `weft status`.
  const cli = await runWeft(stack.gateway.url, ['rerun', original, '--from', 'd', '--var', 'label=third']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, `rerun of run ${original} from d accepted: new run ${original}.rerun-2\n`);
  const third = await finished(`${original}.rerun-2`);
  assert.equal(third.status, 'completed', JSON.stringify(third));
  assert.equal(target.requests.filter((r) => r.path === '/d').at(-1)?.query.label, 'third');
  assert.equal(target.count('/c') - (before[2] as number), 2);
  const usage = await runWeft(stack.gateway.url, ['rerun', original]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /rerun needs --from NODE/);
  const refusedCli = await runWeft(stack.gateway.url, ['rerun', original, '--from', 'nope']);
  assert.equal(refusedCli.code, 3);
  assert.match(refusedCli.stderr, /\/from: version 1 of ".*" has no node "nope"/);
  const status = await runWeft(stack.gateway.url, ['status', rerunId]);
  assert.match(status.stdout, new RegExp(`^rerun of +${original}$`, 'm'));

  // Reruns asked at the same moment each get their own number; the links are listed in number order.
  const together = await Promise.all(
    [1, 2, 3].map(() => stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'd' })),
  );
  for (const answer of together) assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const ids = together.map((answer) => String(answer.body.run_id)).sort();
  assert.deepEqual(
    ids,
    [3, 4, 5].map((n) => `${original}.rerun-${n}`),
  );
  for (const runId of ids) assert.equal((await finished(runId)).status, 'completed');
  // A number visibility does not list as a rerun yet (as when it lags) is still taken: an
  // execution of the next rerun's id, without the link, makes the rerun take the number after.
  const fifth = (await stack.call('GET', `/v1/runs/${original}.rerun-5`)).body;
  const { client, connection } = await connectClient();
  try {
    const squatter = await client.workflow.start('nothing', {
      taskQueue: unique('nobody-polls'),
      workflowId: String(fifth.workflow_id).replace(/rerun-5$/, 'rerun-6'),
    });
    const next = await stack.call('POST', `/v1/runs/${original}/rerun`, { from: 'd' });
    assert.equal(next.status, 202, JSON.stringify(next.body));
    assert.equal(next.body.run_id, `${original}.rerun-7`);
    assert.equal((await finished(`${original}.rerun-7`)).status, 'completed');
    await squatter.terminate('test over');
  } finally {
    await connection.close();
  }
  const all = [1, 2, 3, 4, 5, 7].map((n) => `${original}.rerun-${n}`);
  const linked2 = await until('the original to list its six reruns', async () => {
    const body = (await stack.call('GET', `/v1/runs/${original}`)).body;
    return body.rerun_by?.length === 6 ? body : undefined;
  });
  assert.deepEqual(linked2.rerun_by, all);
});

test('a paused run reruns itself from a node; a running run is refused', async () => {
  const id = unique('surgery-paused');
  await submit({
    id,
    nodes: [task('a'), { id: 'hold', type: 'wait', duration: '1h' }, task('b')],
    edges: [
      { from: 'a', to: 'hold' },
      { from: 'hold', to: 'b' },
    ],
  });
  const runId = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  await until('the run to wait', async () => {
    const body = (await stack.call('GET', `/v1/runs/${runId}`)).body;
    return body.nodes?.hold?.status === 'waiting' ? body : undefined;
  });
  const running = await stack.call('POST', `/v1/runs/${runId}/rerun`, { from: 'a' });
  assert.equal(running.status, 409, JSON.stringify(running.body));
  assert.match(
    running.body.error.message,
    /the run is running: a rerun repeats nodes of a paused or closed run; pause it first/,
  );

  assert.equal((await stack.call('POST', `/v1/runs/${runId}/pause`, {})).status, 202);
  const before = target.count('/a');
  const rerun = await stack.call('POST', `/v1/runs/${runId}/rerun`, { from: 'a' });
  assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
  assert.deepEqual(rerun.body, { accepted: true, run_id: runId });
  const again = await until('the rerun to wait again', async () => {
    const body = (await stack.call('GET', `/v1/runs/${runId}`)).body;
    return target.count('/a') === before + 1 && body.nodes.hold.status === 'waiting' ? body : undefined;
  });
  assert.equal(again.status, 'running');
  assert.ok(again.history.some((h: any) => h.to === 'rerun' && h.note === 'from a'));

  // On another version, still the same run (it continues as new on version 2).
  await submit({
    id,
    nodes: [task('a'), { id: 'hold', type: 'wait', duration: '1h' }, task('b'), task('c')],
    edges: [
      { from: 'a', to: 'hold' },
      { from: 'hold', to: 'b' },
      { from: 'b', to: 'c' },
    ],
  });
  assert.equal((await stack.call('POST', `/v1/runs/${runId}/pause`, {})).status, 202);
  const moved = await stack.call('POST', `/v1/runs/${runId}/rerun`, { from: 'hold', version: '2' });
  assert.equal(moved.status, 202, JSON.stringify(moved.body));
  assert.deepEqual(moved.body, { accepted: true, run_id: runId });
  const onV2 = await until('the run to wait on version 2', async () => {
    const body = (await stack.call('GET', `/v1/runs/${runId}`)).body;
    return body.definition_version === '2' && body.nodes.hold?.status === 'waiting' ? body : undefined;
  });
  assert.equal(onV2.status, 'running');
  assert.equal(onV2.nodes.c.status, 'pending');
  assert.ok(onV2.history.some((h: any) => h.to === 'version_changed' && h.note === 'version 1 → 2'));
  assert.equal(target.count('/a'), before + 1);
  await stack.call('POST', `/v1/runs/${runId}/cancel`, {});
});

test('a run failed on v1 by a wrong expression completes when retried on v2; an incompatible v3 is refused', async () => {
  const id = unique('surgery-version');
  const definition = (expression: string, extra: Record<string, unknown> = {}) => ({
    id,
    variables: [
      { name: 'code', type: 'string', default: 'abc' },
      { name: 'size', type: 'number' },
    ],
    nodes: [task('a'), { id: 'calc', type: 'set', assign: { size: expression } }, task('b')],
    edges: [
      { from: 'a', to: 'calc' },
      { from: 'calc', to: 'b' },
    ],
    ...extra,
  });
  await submit(definition('$number(vars.code)'));
  const before = counts('a', 'b');
  const original = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  const failed = await finished(original);
  assert.equal(failed.status, 'failed', JSON.stringify(failed));
  assert.equal(failed.error.node, 'calc');

  assert.equal(await submit(definition('$length(vars.code)')), '2');
  // v3 drops the failed node and changes a variable's type.
  assert.equal(
    await submit({
      id,
      variables: [
        { name: 'code', type: 'number', default: 1 },
        { name: 'size', type: 'number' },
      ],
      nodes: [task('a'), task('b')],
      edges: [{ from: 'a', to: 'b' }],
    }),
    '3',
  );
  const refused = await stack.call('POST', `/v1/runs/${original}/retry`, { version: '3' });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'rejected');
  assert.match(
    refused.body.error.message,
    /version 3 of ".*" cannot take the run's state \(recorded on version 1\): 2 problem\(s\)/,
  );
  assert.deepEqual(refused.body.error.details, [
    { path: '/version', message: 'version 3 has no node "calc"' },
    {
      path: '/version',
      message: `variable "code" is declared string in the run's version and number in version 3 (variables/0)`,
    },
  ]);
  const refusedCli = await runWeft(stack.gateway.url, ['retry', original, '--version', '3']);
  assert.equal(refusedCli.code, 3);
  assert.match(refusedCli.stderr, /version 3 has no node "calc"/);
  const noSuchVersion = await stack.call('POST', `/v1/runs/${original}/retry`, { version: '7' });
  assert.equal(noSuchVersion.status, 404);

  const retried = await stack.call('POST', `/v1/runs/${original}/retry`, { version: '2' });
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  const retryId = retried.body.run_id as string;
  const result = await finished(retryId);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.equal(result.result.size, 3);
  // `a` completed on v1 and is not called again; `b` runs for the first time.
  assert.deepEqual(
    counts('a', 'b').map((n, i) => n - (before[i] as number)),
    [1, 1],
  );
  const state = (await stack.call('GET', `/v1/runs/${retryId}`)).body;
  assert.equal(state.definition_version, '2');
  assert.equal(state.retry_of, original);
  const linked = await until('the original to list its retry', async () => {
    const body = (await stack.call('GET', `/v1/runs/${original}`)).body;
    return body.retried_by ? body : undefined;
  });
  assert.deepEqual(linked.retried_by, [retryId]);
});

test('skipping a running slow task cancels its call and the run goes on with the given output', async () => {
  const id = unique('surgery-skip');
  await submit({
    id,
    nodes: [task('slow', { timeout: '10m' }), task('b')],
    edges: [{ from: 'slow', to: 'b' }],
  });
  const droppedBefore = dropped;
  const countB = target.count('/b');
  const runId = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  await until('the slow call to reach the server', () => Promise.resolve(target.count('/slow') > 0 ? true : undefined));
  await until('the slow node to be running', async () => {
    const body = (await stack.call('GET', `/v1/runs/${runId}`)).body;
    return body.nodes?.slow?.status === 'running' ? body : undefined;
  });
  const skipped = await runWeft(stack.gateway.url, ['skip', runId, 'slow', '--output', '{"manual": true}']);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.equal(skipped.stdout, `skip of node slow in run ${runId} accepted\n`);
  const result = await finished(runId);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.deepEqual(result.result.slow, { manual: true });
  assert.equal(target.count('/b'), countB + 1);
  await until('the server to see the slow call dropped', () =>
    Promise.resolve(dropped > droppedBefore ? true : undefined),
  );
  const state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
  assert.equal(state.nodes.slow.status, 'skipped');
  assert.ok(state.history.some((h: any) => h.node === 'slow' && h.from === 'running' && h.to === 'skipped'));
  const audit = (await stack.call('GET', `/v1/audit?action=run.skip&target=${encodeURIComponent(runId)}`)).body;
  assert.deepEqual(
    audit.items.map((e: any) => e.status),
    [202],
  );
});

test('a run paused by a wrong expression on v1 goes on on v2 in the same run; an incompatible v3 is refused', async () => {
  const id = unique('surgery-paused-version');
  const definition = (expression: string) => ({
    id,
    options: { on_failure: 'pause' },
    variables: [
      { name: 'code', type: 'string', default: 'abcd' },
      { name: 'size', type: 'number' },
    ],
    nodes: [task('a'), { id: 'calc', type: 'set', assign: { size: expression } }, task('b')],
    edges: [
      { from: 'a', to: 'calc' },
      { from: 'calc', to: 'b' },
    ],
  });
  await submit(definition('$number(vars.code)'));
  const before = counts('a', 'b');
  const runId = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  await until('the run to pause at calc', async () => {
    const body = (await stack.call('GET', `/v1/runs/${runId}`)).body;
    return body.status === 'paused' && body.nodes?.calc?.status === 'failed' ? body : undefined;
  });
  await submit(definition('$length(vars.code)'));
  await submit({ ...definition('1'), nodes: [task('a'), task('b')], edges: [{ from: 'a', to: 'b' }] });

  const refused = await stack.call('POST', `/v1/runs/${runId}/retry`, { version: '3' });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.deepEqual(refused.body.error.details, [{ path: '/version', message: 'version 3 has no node "calc"' }]);

  const retried = await stack.call('POST', `/v1/runs/${runId}/retry`, { version: '2' });
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  assert.deepEqual(retried.body, { accepted: true });
  const result = await finished(runId);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.equal(result.result.size, 4);
  assert.deepEqual(
    counts('a', 'b').map((n, i) => n - (before[i] as number)),
    [1, 1],
  );
  const state = (await stack.call('GET', `/v1/runs/${runId}`)).body;
  assert.equal(state.definition_version, '2');
  assert.ok(state.history.some((h: any) => h.to === 'version_changed' && h.by === 'local-dev'));
  assert.ok(state.history.some((h: any) => h.to === 'retrying' && h.note === 'calc' && h.by === 'local-dev'));
  // Visibility lists it under its new version.
  await until('visibility to show version 2', async () => {
    const listed = (await stack.call('GET', `/v1/runs?definition_id=${id}`)).body;
    return listed.items?.some((r: any) => r.run_id === runId && r.definition_version === '2') ? true : undefined;
  });
});

test('skipping a running ai node cancels its model call', async () => {
  const id = unique('surgery-skip-ai');
  await submit({
    id,
    nodes: [
      { id: 'think', type: 'ai', model: 'gpt-4o-mini', prompt_template: 'hello', output: 'thought', timeout: '10m' },
      task('b'),
    ],
    edges: [{ from: 'think', to: 'b' }],
  });
  openai.enqueue({ content: 'too late', delay_ms: 600_000 });
  const hungUp = openai.hungUp();
  const runId = (await stack.call('POST', `/v1/definitions/${id}/runs`, {})).body.run_id as string;
  await until('the model call to reach the fake', () => Promise.resolve(openai.requests.length > 0 ? true : undefined));
  const skipped = await stack.call('POST', `/v1/runs/${runId}/skip`, { node: 'think', output: 'by hand' });
  assert.equal(skipped.status, 202, JSON.stringify(skipped.body));
  const result = await finished(runId);
  assert.equal(result.status, 'completed', JSON.stringify(result));
  assert.equal(result.result.thought, 'by hand');
  await until('the fake to see the model call dropped', () =>
    Promise.resolve(openai.hungUp() > hungUp ? true : undefined),
  );
});
