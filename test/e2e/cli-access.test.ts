/**
 * The access-control commands of `weft` and the bootstrap script `npm run keys`, end to end: the
 * compiled CLIs run as child processes against a real gateway (its own store, which leaves
 * local-development mode as soon as the first key exists, so these tests cannot share the stack
 * of cli.test.ts) and the tests assert what a user sees: stdout, stderr and the exit code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hashSecret, parseApiKey } from '../../src/auth/api-keys.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import { runScript, WEFT_CLI } from '../support/weft-cli.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const KEYS = fileURLToPath(new URL('../../src/cli/keys.js', import.meta.url));
const KEY_PATTERN = /^wk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

let stack: TestStack;
let dir: string;
/** The admin key the first test creates in local-development mode; the later tests use it. */
let admin = '';

before(async () => {
  stack = await startTestStack();
  dir = mkdtempSync(join(tmpdir(), 'weft-cli-access-'));
});
after(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a compiled script with the test's environment, never an API key inherited from the shell. */
function node(script: string, args: string[], env: Record<string, string>): Promise<Outcome> {
  return runScript(script, args, env);
}

/** `weft <args>` against the test gateway, with `key` in WEFT_API_KEY when given. */
function weft(args: string[], key?: string, url = stack.gateway.url): Promise<Outcome> {
  return node(WEFT_CLI, args, { WEFT_URL: url, ...(key === undefined ? {} : { WEFT_API_KEY: key }) });
}

const show = (o: Outcome) => `exit ${o.code}\nstdout: ${o.stdout}\nstderr: ${o.stderr}`;

function expectExit(outcome: Outcome, code: number): Outcome {
  assert.equal(outcome.code, code, show(outcome));
  return outcome;
}

/** The key a human-readable `keys create` printed on a line of its own. */
function printedKey(outcome: Outcome): string {
  const key = /^ {4}(\S+)$/m.exec(outcome.stdout)?.[1] ?? '';
  assert.match(key, KEY_PATTERN, show(outcome));
  return key;
}

async function createKey(name: string, roles: string[], tenant?: string): Promise<string> {
  const args = ['keys', 'create', '--name', name, ...roles.flatMap((r) => ['--role', r]), '--json'];
  const outcome = expectExit(await weft(tenant === undefined ? args : [...args, '--tenant', tenant], admin), 0);
  const created = JSON.parse(outcome.stdout);
  assert.match(created.key, KEY_PATTERN);
  return created.key;
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function greeting(id: string) {
  return {
    id,
    variables: [{ name: 'name', type: 'string', required: true }],
    nodes: [{ id: 'greet', type: 'set', assign: { message: '"Hello, " & vars.name' } }],
    edges: [],
  };
}

describe('weft access control', () => {
  test('local-development mode: anyone creates the first key; then a request without one is refused (401)', async () => {
    const open = expectExit(await weft(['whoami']), 0);
    assert.match(open.stdout, /^actor +local-dev$/m);
    assert.match(open.stdout, /^authentication +local-development$/m);
    assert.match(open.stderr, /local-development mode: every caller is an admin/);

    const created = expectExit(await weft(['keys', 'create', '--name', 'root', '--role', 'admin']), 0);
    admin = printedKey(created);
    assert.match(created.stdout, /^API key "root" created: id [0-9a-f]{16}, tenant default, roles admin$/m);
    assert.match(created.stdout, /only time the key is shown/);

    for (const args of [['whoami'], ['list'], ['keys', 'list']]) {
      const refused = expectExit(await weft(args), 3);
      assert.match(refused.stderr, /^weft: unauthorized: authentication required: send an API key or token$/m);
      assert.match(refused.stderr, /set WEFT_API_KEY=<key>/);
      assert.equal(refused.stdout, '');
    }
    const forged = expectExit(await weft(['whoami'], `wk_${'0'.repeat(16)}_${'A'.repeat(43)}`), 3);
    assert.match(forged.stderr, /^weft: unauthorized: the API key is not valid$/m);
    assert.doesNotMatch(forged.stderr, /set WEFT_API_KEY/, 'no hint when a key was sent');
  });

  test('an admin key: whoami, keys create, list (no secrets) and revoke, tenants set, list and show', async () => {
    const me = expectExit(await weft(['whoami'], admin), 0).stdout;
    assert.match(me, /^actor +key:root$/m);
    assert.match(me, /^tenant +default$/m);
    assert.match(me, /^roles +admin$/m);
    assert.match(me, /^permissions +read, run, edit, approve, admin$/m);
    assert.match(me, /^via +api_key$/m);
    assert.match(me, /^authentication +required$/m);
    const flag = expectExit(await weft(['whoami', '--json', '--api-key', admin]), 0);
    assert.equal(JSON.parse(flag.stdout).actor, 'key:root');

    const created = expectExit(await weft(['keys', 'create', '--name', 'ci', '--role', 'editor', '--json'], admin), 0);
    const ci = JSON.parse(created.stdout);
    assert.deepEqual(
      { name: ci.name, tenant: ci.tenant, roles: ci.roles, created_by: ci.created_by },
      { name: 'ci', tenant: 'default', roles: ['editor'], created_by: 'key:root' },
    );
    assert.match(ci.key, KEY_PATTERN);
    assert.match(expectExit(await weft(['whoami'], ci.key), 0).stdout, /^roles +editor$/m);
    const notAdmin = expectExit(await weft(['keys', 'list'], ci.key), 3);
    assert.match(notAdmin.stderr, /^weft: forbidden: GET \/v1\/keys needs the "admin" permission/m);

    const badRole = expectExit(await weft(['keys', 'create', '--name', 'x', '--role', 'boss'], admin), 3);
    assert.match(badRole.stderr, /^weft: validation_failed: /m);
    assert.match(badRole.stderr, /^ {2}\/roles\/0: /m);

    const list = expectExit(await weft(['keys', 'list'], admin), 0).stdout;
    assert.match(list, /^ID +NAME +TENANT +ROLES +CREATED +CREATED BY +STATUS$/m);
    assert.match(list, /^[0-9a-f]{16} +root +default +admin +\S+ +local-dev +active$/m);
    assert.match(list, new RegExp(`^${ci.id} +ci +default +editor +\\S+ +key:root +active$`, 'm'));
    for (const key of [admin, ci.key]) assert.ok(!list.includes(parseApiKey(key)?.secret ?? key), 'no secret listed');
    const listed = JSON.parse(expectExit(await weft(['keys', 'list', '--json'], admin), 0).stdout);
    for (const item of listed.items) assert.deepEqual([item.key, item.hash], [undefined, undefined]);

    const set = expectExit(
      await weft(['tenants', 'set', 'acme', '--four-eyes', 'true', '--task-queue', 'q-acme'], admin),
      0,
    );
    assert.match(set.stdout, /^tenant acme created$/m);
    assert.match(set.stdout, /^ {2}four-eyes +yes$/m);
    const changed = expectExit(await weft(['tenants', 'set', 'acme', '--four-eyes', 'false'], admin), 0).stdout;
    assert.match(changed, /^tenant acme updated$/m);
    assert.match(changed, /^ {2}four-eyes +no$/m);
    assert.match(changed, /^ {2}task queue +q-acme$/m, 'settings not given stay');
    const tenants = expectExit(await weft(['tenants', 'list'], admin), 0).stdout;
    assert.match(tenants, /^TENANT +FOUR-EYES +NAMESPACE +TASK QUEUE +CREATED BY$/m);
    assert.match(tenants, /^acme +no +\(the gateway's\) +q-acme +key:root$/m);
    assert.match(
      expectExit(await weft(['tenants', 'show', 'acme'], admin), 0).stdout,
      /^namespace +\(the gateway's\)$/m,
    );
    assert.match(expectExit(await weft(['tenants', 'show', 'nope'], admin), 3).stderr, /^weft: not_found: /m);

    assert.equal(expectExit(await weft(['keys', 'revoke', ci.id], admin), 0).stdout, `API key ${ci.id} revoked\n`);
    assert.match(expectExit(await weft(['whoami'], ci.key), 3).stderr, /unauthorized: the API key "ci" was revoked/);
    assert.match(expectExit(await weft(['keys', 'revoke', ci.id], admin), 3).stderr, /^weft: conflict: /m);
    assert.match(
      expectExit(await weft(['keys', 'list'], admin), 0).stdout,
      new RegExp(`^${ci.id} +ci +.* revoked \\S+$`, 'm'),
    );
  });

  test('four-eyes publishing: an editor submits, an approver approves, history shows who did what', async () => {
    expectExit(await weft(['tenants', 'set', 'pub', '--four-eyes', 'true'], admin), 0);
    const editor = await createKey('ed', ['editor'], 'pub');
    const approver = await createKey('ap', ['approver'], 'pub');
    const both = await createKey('both', ['editor', 'approver'], 'pub');
    const id = unique('published');

    const submitted = expectExit(await weft(['submit', file(`${id}-1.json`, greeting(id))], editor), 0);
    assert.match(submitted.stdout, new RegExp(`^${id} version 1 created, awaiting approval`));
    const editorApproves = expectExit(await weft(['definitions', 'approve', id, '1'], editor), 3);
    assert.match(editorApproves.stderr, /^weft: forbidden: .* needs the "approve" permission/m);
    const approved = expectExit(
      await weft(['definitions', 'approve', id, '1', '--comment', 'looks right'], approver),
      0,
    );
    assert.equal(approved.stdout, `approval of ${id} version 1 recorded; version 1 is active\n`);

    const v2 = greeting(id);
    v2.nodes.push({ id: 'shout', type: 'set', assign: { message: '$uppercase(vars.message)' } });
    const withEdge = { ...v2, name: 'Greeting, loudly', edges: [{ from: 'greet', to: 'shout' }] };
    expectExit(await weft(['submit', file(`${id}-2.json`, withEdge)], both), 0);
    const ownVersion = expectExit(await weft(['definitions', 'approve', id, '2'], both), 3);
    assert.match(ownVersion.stderr, /^weft: forbidden: four-eyes: key:both submitted version 2/m);
    const rejected = expectExit(
      await weft(['definitions', 'approve', id, '2', '--reject', '--comment', 'not yet'], approver),
      0,
    );
    assert.equal(rejected.stdout, `rejection of ${id} version 2 recorded; active version: 1\n`);

    const table = expectExit(await weft(['definitions', 'history', id], editor), 0)
      .stdout.trimEnd()
      .split('\n');
    assert.match(table[0] ?? '', /^TIME +ACTOR +ACTION +VERSION +DETAILS$/);
    const rows = table.slice(1).map((line) => line.split(/ {2,}/));
    assert.deepEqual(
      rows.map(([, actor, action, version, details]) => [actor, action, version, details ?? '']),
      [
        ['key:ed', 'submitted', '1', ''],
        ['key:ap', 'approved', '1', '"looks right"'],
        ['key:ap', 'activated', '1', ''],
        ['key:both', 'submitted', '2', 'nodes +shout; edges +1; fields +name'],
        ['key:ap', 'rejected', '2', '"not yet"'],
      ],
    );
    for (const [at] of rows) assert.ok(!Number.isNaN(Date.parse(at ?? '')), `a time: ${at}`);
    const history = JSON.parse(expectExit(await weft(['definitions', 'history', id, '--json'], editor), 0).stdout);
    assert.deepEqual(
      history.items[3].diff.nodes.added.map((n: { id: string }) => n.id),
      ['shout'],
    );
  });

  test('runs lineage: per variable the last writer, its inputs, the time and the number of writes', async () => {
    const id = unique('lineage');
    expectExit(await weft(['submit', file(`${id}.json`, greeting(id))], admin), 0);
    const runId = unique('run');
    expectExit(await weft(['run', id, '--run-id', runId, '--input', '{"name": "Ada"}', '--wait'], admin), 0);
    const table = expectExit(await weft(['runs', 'lineage', runId], admin), 0).stdout;
    assert.match(table, /^VARIABLE +WRITER +INPUTS +AT +WRITES$/m);
    assert.match(table, /^message +greet \(set\) +vars\.name +\S+ +1$/m);
    assert.match(table, /^name +input +input\.name +\S+ +1$/m);
    const missing = expectExit(await weft(['runs', 'lineage', unique('no-such-run')], admin), 3);
    assert.match(missing.stderr, /^weft: not_found: /m);
  });

  test('usage: families need a command; options are checked before anything is sent', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['keys'], /keys needs a command: create, list, revoke/],
      [['keys', 'frob'], /unknown command "keys frob"; the keys commands are create, list, revoke/],
      [['keys', 'create', '--role', 'admin'], /keys create needs --name N/],
      [['keys', 'create', '--name', 'x'], /keys create needs --role R/],
      [['tenants', 'set', 'acme', '--four-eyes', 'maybe'], /--four-eyes must be true or false, got "maybe"/],
      [['definitions', 'approve', 'd'], /definitions approve needs <definition-id> <version>/],
      [['whoami', '--api-key', 'two words'], /the API key in --api-key must be printable ASCII/],
    ];
    for (const [args, message] of cases) {
      const outcome = expectExit(await weft(args, admin), 2);
      assert.match(outcome.stderr, message, `weft ${args.join(' ')}`);
    }
    const help = expectExit(await weft(['keys', '--help']), 0).stdout;
    assert.match(help, /^ {2}keys revoke <key-id> +revoke an API key/m);
    assert.match(expectExit(await weft(['help', 'runs', 'lineage']), 0).stdout, /^Usage: weft runs lineage <run-id>$/m);
  });

  test('npm run keys: a fresh store gets an admin key; only its hash is stored; a gateway accepts it', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'weft-bootstrap-'));
    const databaseUrl = `sqlite:${join(fresh, 'weft.db')}`;
    const keys = (args: string[]) => node(KEYS, args, { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' });
    try {
      const refused = expectExit(await keys(['create', '--name', 'root', '--role', 'admin', '--tenant', 'acme']), 1);
      assert.match(refused.stderr, /tenant "acme" does not exist/);
      assert.match(expectExit(await keys(['create', '--name', 'root']), 2).stderr, /create needs --role R/);
      assert.match(expectExit(await keys(['create', '--name', 'root', '--role', 'boss']), 2).stderr, /--role "boss": /);

      const created = expectExit(await keys(['create', '--name', 'root', '--role', 'admin', '--tenant', 'default']), 0);
      const key = printedKey(created);
      assert.match(created.stdout, /only time the key is shown/);
      assert.match(created.stdout, /now require an API key on every request/);
      const taken = expectExit(await keys(['create', '--name', 'root', '--role', 'admin']), 1);
      assert.match(taken.stderr, /already has an active key named "root"/);

      const { id, secret } = parseApiKey(key) ?? { id: '', secret: '' };
      const store = await openDefinitionStore(databaseUrl);
      try {
        const [record, ...others] = await store.access.listApiKeys();
        assert.equal(others.length, 0);
        assert.deepEqual(
          [record?.id, record?.name, record?.tenant, record?.roles, record?.created_by],
          [id, 'root', 'default', ['admin'], 'bootstrap-cli'],
        );
        assert.equal(record?.hash, hashSecret(secret));
        const [audited] = await store.listAudit({ limit: 10 });
        assert.deepEqual([audited?.actor, audited?.action, audited?.target], ['bootstrap-cli', 'key.create', 'root']);
      } finally {
        await store.close();
      }
      // The database, its WAL included, holds the hash but never the key's secret.
      for (const name of readdirSync(fresh)) assert.ok(!readFileSync(join(fresh, name)).includes(secret), name);

      const gateway = await startTestStack({ worker: false, env: { DATABASE_URL: databaseUrl } });
      try {
        const anonymous = expectExit(await weft(['whoami'], undefined, gateway.gateway.url), 3);
        assert.match(anonymous.stderr, /unauthorized: authentication required/);
        const me = expectExit(await weft(['whoami'], key, gateway.gateway.url), 0).stdout;
        assert.match(me, /^actor +key:root$/m);
        assert.match(me, /^authentication +required$/m);
      } finally {
        await gateway.close();
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
