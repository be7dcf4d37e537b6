/**
 * The `weft` command line, end to end: the compiled CLI runs as a child process against a real
 * gateway and worker, and the tests assert what a user or a script sees: stdout, stderr and the
 * exit code (0 ok, 1 run failed, 2 usage, 3 refused, 4 unreachable).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renderProgress } from '../../src/client/progress.js';
import { runWeft, WEFT_CLI } from '../support/weft-cli.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

let stack: TestStack;
let target: HttpTarget;
let fixed = false;
let dir: string;

before(async () => {
  target = await startHttpTarget({
    '/flaky': (_req, res) => (fixed ? json(res, 200, { ok: true }) : json(res, 422, { error: 'not yet' })),
    '/v1/runs/down': (_req, res) => json(res, 503, { error: { code: 'unavailable', message: 'Temporal is down' } }),
  });
  stack = await startTestStack();
  dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
});
after(async () => {
  await stack?.close();
  await target?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `weft <args>` against the test gateway (unless `env` says otherwise). */
function weft(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Outcome> {
  return runWeft(stack.gateway.url, args, options);
}

const show = (o: Outcome) => `exit ${o.code}\nstdout: ${o.stdout}\nstderr: ${o.stderr}`;

function expectExit(outcome: Outcome, code: number): Outcome {
  assert.equal(outcome.code, code, show(outcome));
  return outcome;
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Reads with `read` until `done` holds (runs and visibility take a moment). */
async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value: T | undefined;
  return until(
    () => `${what} within 15 s: ${JSON.stringify(value)}`,
    async () => {
      value = await read();
      return done(value) ? value : undefined;
    },
    15_000,
  );
}

const submit = async (definition: unknown) => expectExit(await weft(['submit', file(unique('def'), definition)]), 0);

const stateOf = async (runId: string) => JSON.parse(expectExit(await weft(['status', runId, '--json']), 0).stdout);

/** `greeting` writes `message` without declaring it: valid, with this warning. */
const MESSAGE_WARNING =
  'variable "message" is not declared in "variables", so it is of type any and the run\'s input cannot set it; declare it';

function greeting(id: string) {
  return {
    id,
    variables: [{ name: 'name', type: 'string', required: true }],
    nodes: [{ id: 'greet', type: 'set', assign: { message: '"Hello, " & vars.name' } }],
    edges: [],
  };
}

describe('weft', () => {
  test('--help lists the commands and the exit codes; <command> --help its options', async () => {
    const help = expectExit(await weft(['--help']), 0);
    for (const text of ['validate <file>', 'run <definition-id>', 'emit <event-type>', 'Exit codes', '--json'])
      assert.ok(help.stdout.includes(text), text);
    for (const code of ['0', '1', '2', '3', '4']) assert.match(help.stdout, new RegExp(`^ {2}${code} {2}\\S`, 'm'));
    const run = expectExit(await weft(['run', '--help']), 0);
    assert.match(run.stdout, /Usage: weft run <definition-id>/);
    assert.match(run.stdout, /--wait/);
    assert.match(run.stdout, /--input-file FILE/);
  });

  test('usage errors exit 2 and say what is wrong', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing command/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['pause', 'r1', '--bogus'], /unknown option '--bogus'/],
      [['run'], /run needs <definition-id>/],
      [['status', 'a', 'b'], /unexpected "b"/],
      [['run', 'd', '--input', '{bad'], /--input is not valid JSON: at line 1, column 2, expected a property name/],
      [['run', 'd', '--input', '[1]'], /--input must be a JSON object/],
      [['submit', join(dir, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
      [['validate', file('not-json.json', '{ nope')], /not-json\.json is not valid JSON: at line 1, column 3, /],
      [
        ['validate', file('trailing-comma.json', '{\n  "id": "x",\n  "nodes": [1, 2,]\n}\n')],
        /trailing-comma\.json is not valid JSON: at line 3, column 18, expected a value/,
      ],
      [['vars', 'r1', 'novalue'], /expected name=value/],
      [['list', '--limit', 'abc'], /--limit must be a whole number/],
      [['status', 'r1', '--url', 'not a url'], /is not a URL/],
    ];
    await Promise.all(
      cases.map(async ([args, message]) => {
        const outcome = expectExit(await weft(args), 2);
        assert.match(outcome.stderr, message, `weft ${args.join(' ')}`);
        assert.equal(outcome.stdout, '', `weft ${args.join(' ')}`);
      }),
    );
  });

  test('an unreachable gateway exits 4; so does a 503, and --url wins over WEFT_URL', async () => {
    const port = await freePort();
    const closed = `http://127.0.0.1:${port}`;
    const [unreachable, flag, down] = await Promise.all([
      weft(['status', 'r1'], { env: { WEFT_URL: closed } }),
      weft(['status', 'r1', '--url', closed]),
      weft(['status', 'down'], { env: { WEFT_URL: target.url } }),
    ]);
    for (const outcome of [unreachable, flag]) {
      expectExit(outcome, 4);
      assert.match(outcome.stderr, new RegExp(`cannot reach the gateway at ${closed}: ECONNREFUSED`));
    }
    expectExit(down, 4);
    assert.match(down.stderr, /unavailable: Temporal is down/);
  });

  test('validate: an invalid definition exits 3 with every problem on stderr', async () => {
    const invalid = file('invalid.json', { id: 'Not An Id', nodes: [{ id: 'x', type: 'nope' }], edges: [] });
    const outcome = expectExit(await weft(['validate', invalid]), 3);
    assert.match(outcome.stderr, /^weft: validation_failed: the definition is invalid/m);
    assert.match(outcome.stderr, /^ {2}\/id: /m);
    assert.match(outcome.stderr, /^ {2}\/nodes\/0\/type: /m);
    assert.equal(outcome.stdout, '');

    const asJson = expectExit(await weft(['validate', invalid, '--json']), 3);
    assert.equal(JSON.parse(asJson.stdout).error.code, 'validation_failed');

    const valid = expectExit(await weft(['validate', file('valid.json', greeting('valid-one'))]), 0);
    assert.match(valid.stdout, /valid\.json is valid \(1 warning\)\n$/);
    // Warnings do not fail the command; they are shown on stderr with their pointers.
    assert.equal(valid.stderr, `warning /nodes/0/assign/message: ${MESSAGE_WARNING}\n`);
  });

  test('submit prints id, version and whether it was created; stdin works; activate', async () => {
    const id = unique('greeting');
    const path = file(`${id}.json`, greeting(id));
    assert.equal(expectExit(await weft(['submit', path]), 0).stdout, `${id} version 1 created\n`);
    assert.match(expectExit(await weft(['submit', path]), 0).stdout, new RegExp(`^${id} version 1 unchanged`));
    const piped = expectExit(await weft(['--json', 'submit', '-'], { stdin: JSON.stringify(greeting(id)) }), 0);
    assert.deepEqual(JSON.parse(piped.stdout), {
      id,
      version: '1',
      created: false,
      warnings: [{ path: '/nodes/0/assign/message', message: MESSAGE_WARNING }],
    });
    assert.equal(expectExit(await weft(['activate', id, '1']), 0).stdout, `${id}: version 1 is active\n`);
    const missing = expectExit(await weft(['activate', id, '7']), 3);
    assert.match(missing.stderr, /not_found: version "7"/);
  });

  test('run --wait --json of a run that completes prints its result and exits 0', async () => {
    const id = unique('greeting');
    await submit(greeting(id));
    const outcome = expectExit(await weft(['run', id, '--wait', '--json', '--input', '{"name": "Ada"}']), 0);
    const answer = JSON.parse(outcome.stdout);
    assert.equal(answer.status, 'completed');
    assert.equal(answer.result.message, 'Hello, Ada');
    assert.equal(outcome.stderr, '', 'no progress line without a terminal');

    const refused = expectExit(await weft(['run', id, '--input', '{}']), 3);
    assert.match(refused.stderr, /validation_failed/);
    assert.match(refused.stderr, /^ {2}\/input\/name: /m);
  });

  test('run --wait of a run that fails exits 1; retry of the closed run prints the new run id', async () => {
    const id = unique('flaky');
    await submit({
      id,
      nodes: [
        {
          id: 'call',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'reply',
          inputs: { url: `${target.url}/flaky` },
          retry_policy: { max_attempts: 1 },
        },
      ],
      edges: [],
    });
    const failed = expectExit(await weft(['run', id, '--wait']), 1);
    const runId = /^started run (\S+) of /.exec(failed.stdout)?.[1] ?? '';
    assert.ok(runId.startsWith(`${id}-`), failed.stdout);
    assert.match(failed.stdout, /^failed: HttpError at node call: /m);
    assert.equal(failed.stderr, '');

    const status = expectExit(await weft(['status', runId]), 0).stdout;
    assert.match(status, /^status +failed$/m);
    assert.match(status, /^ {2}call +failed +attempts 1 +HttpError/m);

    fixed = true;
    const retried = expectExit(await weft(['retry', runId]), 0);
    assert.equal(retried.stdout, `retry of run ${runId} accepted: new run ${runId}.retry-1\n`);
    const result = await stack.call('GET', `/v1/runs/${runId}.retry-1/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
  });

  test('operating a run waiting at an approval: status, pause, vars, skip, resume, approve', async () => {
    const id = unique('review');
    await submit({
      id,
      variables: [
        { name: 'limit', type: 'number', default: 1 },
        { name: 'label', type: 'string', default: 'none' },
      ],
      nodes: [
        { id: 'review', type: 'approval', output: 'decision' },
        {
          id: 'lookup',
          type: 'task',
          connector: 'http',
          action: 'request',
          output: 'looked',
          inputs: { url: `${target.url}/never-called` },
        },
        { id: 'double', type: 'set', assign: { total: 'vars.limit * 2' } },
      ],
      edges: [
        { from: 'review', to: 'lookup' },
        { from: 'lookup', to: 'double' },
      ],
    });
    const runId = unique('op');
    const started = JSON.parse(expectExit(await weft(['run', id, '--run-id', runId, '--json']), 0).stdout);
    assert.equal(started.run_id, runId);
    await eventually(
      'the approval to wait',
      () => stateOf(runId),
      (s) => s.nodes.review?.status === 'waiting',
    );

    const status = expectExit(await weft(['status', runId]), 0).stdout;
    assert.match(status, /^status +running$/m);
    assert.match(status, /^current node +review$/m);
    assert.match(status, /^ {2}review +waiting +attempts 0$/m);
    assert.match(status, /^ {2}lookup +pending +attempts 0$/m);

    const pause = expectExit(await weft(['pause', runId, '--reason', 'checking']), 0);
    assert.equal(pause.stdout, `pause of run ${runId} accepted\n`);
    assert.match(expectExit(await weft(['status', runId]), 0).stdout, /^status +paused \(checking\)$/m);

    const vars = expectExit(await weft(['vars', runId, 'limit=5', 'label=hello']), 0);
    assert.match(vars.stdout, /^ {2}limit +5$/m);
    assert.match(vars.stdout, /^ {2}label +hello$/m);
    const wrongType = expectExit(await weft(['vars', runId, 'limit=many']), 3);
    assert.match(wrongType.stderr, /rejected: .*expected number for variable "limit"/);

    const skip = expectExit(await weft(['skip', runId, 'lookup', '--output', '{"manual": true}']), 0);
    assert.equal(skip.stdout, `skip of node lookup in run ${runId} accepted\n`);
    assert.equal(expectExit(await weft(['resume', runId]), 0).stdout, `resume of run ${runId} accepted\n`);
    const notWaiting = expectExit(await weft(['approve', runId, 'double']), 3);
    assert.match(notWaiting.stderr, /^weft: rejected: node "double" is not waiting for an approval/m);
    const approve = expectExit(await weft(['approve', runId, 'review', '--comment', 'looks good']), 0);
    assert.equal(approve.stdout, `approval of node review in run ${runId} accepted\n`);

    const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
    assert.equal(result.body.result.total, 10);
    assert.equal(result.body.result.label, 'hello');
    assert.deepEqual(result.body.result.looked, { manual: true });
    assert.equal(result.body.result.decision.comment, 'looks good');
    assert.equal(target.count('/never-called'), 0);
  });

  test('list shows runs (visibility lags); emit delivers to a waiting event node', async () => {
    const id = unique('payment');
    const eventType = unique('payment.settled');
    await submit({
      id,
      variables: [{ name: 'order', type: 'string', required: true }],
      nodes: [{ id: 'paid', type: 'event', event_type: eventType, correlation_key: 'vars.order', output: 'payment' }],
      edges: [],
    });
    const runId = unique('pay');
    expectExit(await weft(['run', id, '--run-id', runId, '--input', '{"order": "A-1"}']), 0);
    await eventually(
      'the event node to wait',
      () => stateOf(runId),
      (s) => s.nodes.paid?.status === 'waiting',
    );
    const listed = await eventually(
      'the run to be listed as running',
      async () =>
        JSON.parse(expectExit(await weft(['list', '--definition', id, '--status', 'running', '--json']), 0).stdout),
      (page) => page.items.some((item: any) => item.run_id === runId),
    );
    assert.equal(listed.items[0].definition_id, id);
    const table = expectExit(await weft(['list', '--definition', id, '--limit', '5']), 0).stdout.split('\n');
    assert.match(table[0] ?? '', /^RUN +DEFINITION +VERSION +STATUS +STARTED +CLOSED$/);
    assert.match(table[1] ?? '', new RegExp(`^${runId} +${id} +1 +running +\\S+$`));
    // --version and the start-time window reach the gateway's filters (the run's own start time).
    const startedAt = listed.items[0].started_at as string;
    const filtered = async (...flags: string[]) =>
      JSON.parse(expectExit(await weft(['list', '--definition', id, ...flags, '--json']), 0).stdout).items.map(
        (item: any) => item.run_id,
      );
    assert.deepEqual(await filtered('--version', '1', '--started-after', startedAt), [runId]);
    assert.deepEqual(await filtered('--version', '2'), []);
    assert.deepEqual(await filtered('--started-before', startedAt), []);
    const refused = expectExit(await weft(['list', '--started-after', 'yesterday']), 3);
    assert.match(refused.stderr, /started_after/);

    const eventId = unique('evt');
    const emitted = expectExit(
      await weft(['emit', eventType, '--key', 'A-1', '--payload', '{"amount": 42}', '--id', eventId]),
      0,
    );
    // Handed to the run already, or once its registration with the mailbox lands: never to another.
    assert.ok(
      [`accepted: ${eventId}\n`, `accepted: ${eventId}\ndelivered to: ${runId}\n`].includes(emitted.stdout),
      emitted.stdout,
    );
    const result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
    assert.equal(result.body.status, 'completed', JSON.stringify(result.body));
    const nobody = expectExit(await weft(['emit', unique('nobody.listens')]), 0);
    assert.match(nobody.stdout, /^accepted: evt-[0-9a-f-]+\n$/);
  });

  // script(1) (util-linux, in every Debian) gives the CLI a real terminal.
  test('run --wait on a terminal shows a live progress line on stderr', async () => {
    const id = unique('slow');
    await submit({
      id,
      nodes: [
        { id: 'pause', type: 'wait', duration: '1500ms' },
        { id: 'done', type: 'set', assign: { finished: 'true' } },
      ],
      edges: [{ from: 'pause', to: 'done' }],
    });
    // script(1) gives the CLI a pseudo-terminal; stdout and stderr both come back through it.
    const command = [process.execPath, WEFT_CLI, 'run', id, '--wait'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`);
    const child = spawn('script', ['-qec', command.join(' '), '/dev/null'], {
      env: { ...process.env, WEFT_URL: stack.gateway.url },
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, text);
    // Each redraw returns the cursor and clears the line (ESC [2K) before writing it.
    assert.ok(text.includes('\r\u001b[2Krunning: pause ◷ 0/2 nodes'), JSON.stringify(text));
    assert.match(text, /completed\r?\n[{]\r?\n {2}"finished": true/);
  });

  test('the progress line marks each started node and counts settled ones', () => {
    const node = (status: string) => ({ status, attempts: 1 }) as any;
    const state = {
      status: 'running',
      nodes: {
        fetch: node('completed'),
        classify: node('running'),
        store: node('pending'),
        notify: node('pending'),
        end: node('pending'),
      },
    } as any;
    assert.equal(renderProgress(state), 'running: fetch ✓ classify … 1/5 nodes');
    assert.equal(renderProgress(state, 32), 'running: … classify … 1/5 nodes');
    assert.equal(
      renderProgress({ status: 'paused', pause_reason: 'checking', nodes: { a: node('skipped'), b: node('failed') } }),
      'paused (checking): a ↷ b ✗ 2/2 nodes',
    );
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
