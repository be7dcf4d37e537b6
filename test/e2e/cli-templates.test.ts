/**
 * `weft templates list|show|create|delete|instantiate`, the compiled CLI as a child process
 * against a real gateway: what a user or a script sees on stdout, stderr and in the exit code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft } from '../support/weft-cli.js';
import { startTestStack, type TestStack } from '../support/gateway.js';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('weft templates', () => {
  let stack: TestStack;
  let dir: string;

  before(async () => {
    stack = await startTestStack({ worker: false });
    dir = mkdtempSync(join(tmpdir(), 'weft-cli-templates-'));
  });
  after(async () => {
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function weft(args: string[], stdin = ''): Promise<Outcome> {
    return runWeft(stack.gateway.url, args, { stdin });
  }
  const expectExit = (o: Outcome, code: number) => {
    assert.equal(o.code, code, `exit ${o.code}\nstdout: ${o.stdout}\nstderr: ${o.stderr}`);
    return o;
  };

  test('list and show the starter library', async () => {
    const listed = expectExit(await weft(['templates', 'list']), 0);
    assert.match(listed.stdout, /^TEMPLATE\s+KIND\s+PARAMETERS\s+NAME/);
    assert.match(listed.stdout, /order-saga\s+built-in\s+service_url,ship_attempts\s+Order saga with compensation/);
    const shown = expectExit(await weft(['templates', 'show', 'payment-wait']), 0);
    assert.match(shown.stdout, /payment-wait: Event-driven payment wait with timeout \(built-in\)/);
    assert.match(shown.stdout, /payment_timeout\s+string\s+24h/);
    assert.match(shown.stdout, /service_url\s+string\s+\(required\)/);
    const json = JSON.parse(expectExit(await weft(['templates', 'show', 'payment-wait', '--json']), 0).stdout);
    assert.equal(json.definition.nodes[1].id, 'paid');
    const missing = expectExit(await weft(['templates', 'show', 'no-such-template']), 3);
    assert.match(missing.stderr, /not_found: template "no-such-template" not found/);
  });

  test('create, instantiate (printed or submitted) and delete', async () => {
    const path = join(dir, 'hello.json');
    const template = {
      id: 'hello-tpl',
      name: 'Hello',
      parameters: [
        { name: 'who', type: 'string', example: 'Ada' },
        { name: 'times', type: 'integer', default: 1 },
      ],
      definition: {
        variables: [
          { name: 'who', type: 'string', default: { $param: 'who' } },
          { name: 'times', type: 'number', default: { $param: 'times' } },
        ],
        nodes: [{ id: 'say', type: 'set', assign: { who: "'hello ' & vars.who" } }],
      },
    };
    writeFileSync(path, JSON.stringify(template));
    assert.equal(expectExit(await weft(['templates', 'create', path]), 0).stdout, 'template hello-tpl created\n');
    assert.match(expectExit(await weft(['templates', 'create', '-'], JSON.stringify(template)), 0).stdout, /unchanged/);
    const bad = expectExit(
      await weft(['templates', 'create', '-'], JSON.stringify({ ...template, id: 'x', parameters: [] })),
      3,
    );
    assert.match(bad.stderr, /\/definition\/variables\/0\/default\/\$param|unknown parameter "who"/);

    const printed = expectExit(
      await weft([
        'templates',
        'instantiate',
        'hello-tpl',
        '--id',
        'hello-def',
        '--param',
        'who=Ada',
        '--param',
        'times=3',
      ]),
      0,
    );
    const definition = JSON.parse(printed.stdout);
    assert.deepEqual(
      definition.variables.map((v: { default: unknown }) => v.default),
      ['Ada', 3],
    );
    assert.equal((await stack.call('GET', '/v1/definitions/hello-def')).status, 404, 'printed, not stored');
    const wrong = expectExit(
      await weft(['templates', 'instantiate', 'hello-tpl', '--id', 'hello-def', '--param', 'times=x']),
      3,
    );
    assert.match(wrong.stderr, /\/parameters\/times: expected a number/);
    assert.match(wrong.stderr, /\/parameters\/who: parameter "who" is required/);
    expectExit(await weft(['templates', 'instantiate', 'hello-tpl', '--param', 'who=Ada']), 2);

    const submitted = expectExit(
      await weft([
        'templates',
        'instantiate',
        'hello-tpl',
        '--id',
        'hello-def',
        '--params',
        '{"who": "Ada"}',
        '--submit',
      ]),
      0,
    );
    assert.equal(submitted.stdout, 'hello-def version 1 created\n');
    assert.equal((await stack.call('GET', '/v1/definitions/hello-def')).body.variables[0].default, 'Ada');

    assert.equal(
      expectExit(await weft(['templates', 'delete', 'hello-tpl']), 0).stdout,
      'template hello-tpl deleted\n',
    );
    expectExit(await weft(['templates', 'delete', 'hello-tpl']), 3);
    const builtin = expectExit(await weft(['templates', 'delete', 'order-saga']), 3);
    assert.match(builtin.stderr, /rejected: "order-saga" is a built-in template and cannot be deleted/);
  });

  test('--help lists the templates family', async () => {
    const help = expectExit(await weft(['templates', '--help']), 0);
    for (const word of ['list', 'show', 'create', 'delete', 'instantiate'])
      assert.match(help.stdout, new RegExp(`templates ${word}`));
  });
});
