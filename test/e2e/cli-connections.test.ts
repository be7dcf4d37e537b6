/**
 * `weft connections …` end to end: the compiled CLI as a child process against a real gateway
 * with WEFT_CONNECTION_KEY and a real Redis: secret settings only from stdin or a file, never
 * printed back (human or --json), replace keeps what is not given, test reports and exits 1 on
 * failure, delete; usage errors exit 2 before anything is sent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runWeft, type WeftOutcome } from '../support/weft-cli.js';
import { allowEgress, egressEntry } from '../support/egress.js';
import { startTestStack, type TestStack } from '../support/gateway.js';

const REDIS = process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MARKER = `cli${randomBytes(8).toString('hex')}`;

let stack: TestStack;
let dir: string;
let revoke: () => void;

before(async () => {
  stack = await startTestStack({ worker: false, env: { WEFT_CONNECTION_KEY: randomBytes(32).toString('base64') } });
  // The gateway's test call goes through the egress policy of this process.
  revoke = allowEgress(egressEntry(REDIS));
  dir = mkdtempSync(join(tmpdir(), 'weft-cli-connections-'));
});
after(async () => {
  revoke?.();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function weft(args: string[], stdin = ''): Promise<WeftOutcome> {
  return runWeft(stack.gateway.url, args, { stdin });
}

test('create, list, show, replace, test and delete a connection; secrets only in, never out', async () => {
  const { hostname, port } = new URL(REDIS);
  // First where nothing listens (the test fails), then replaced by the real server.
  const nowhere = JSON.stringify({ host: '127.0.0.1', port: 1, db: 2 });
  const settings = JSON.stringify({ host: hostname, port: Number(port || 6379), db: 2 });
  const seen: string[] = [];
  const created = await weft(
    ['connections', 'create', 'cache', '--connector', 'redis', '--settings', nowhere, '--secrets-file', '-'],
    JSON.stringify({ password: MARKER }),
  );
  seen.push(created.stdout, created.stderr);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /connection cache created/);
  assert.match(created.stdout, /secret settings +\{"password":"\*\*\*"\}/);

  const listed = await weft(['connections', 'list']);
  seen.push(listed.stdout);
  assert.match(listed.stdout, /cache +redis +1/);
  const shown = await weft(['connections', 'show', 'cache', '--json']);
  seen.push(shown.stdout);
  assert.equal(JSON.parse(shown.stdout).settings.db, 2);

  const failing = await weft(['connections', 'test', 'cache']);
  seen.push(failing.stdout, failing.stderr);
  assert.equal(failing.code, 1, failing.stdout + failing.stderr);
  assert.match(failing.stdout, /connection cache failed: .*redis 127\.0\.0\.1:1\/2 via connection "cache"/);

  const moved = await weft(['connections', 'replace', 'cache', '--settings', settings]);
  seen.push(moved.stdout, moved.stderr);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /replaced: version 2/);
  assert.match(moved.stdout, /\{"password":"\*\*\*"\}/, 'the secret settings stay');
  const working = await weft(['connections', 'test', 'cache']);
  seen.push(working.stdout, working.stderr);
  assert.equal(working.code, 0, working.stdout + working.stderr);
  assert.match(working.stdout, /connection cache works/);

  const secrets = join(dir, 'none.json');
  writeFileSync(secrets, '{}');
  const replaced = await weft(['connections', 'replace', 'cache', '--secrets-file', secrets]);
  seen.push(replaced.stdout, replaced.stderr);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stdout, /replaced: version 3/);
  assert.match(replaced.stdout, /"port":\d+,"db":2/, 'the settings stay');
  assert.match(replaced.stdout, /secret settings +\{\}/);

  assert.equal((await weft(['connections', 'delete', 'cache'])).code, 0);
  const gone = await weft(['connections', 'show', 'cache']);
  assert.equal(gone.code, 3);
  assert.match(gone.stderr, /connection "cache" not found/);
  assert.ok(!seen.join('').includes(MARKER), 'a secret was printed');
});

test('usage errors exit 2; a bad setting is refused by the gateway naming the field', async () => {
  const noConnector = await weft(['connections', 'create', 'x', '--settings', '{}']);
  assert.equal(noConnector.code, 2);
  assert.match(noConnector.stderr, /--connector/);
  const nothing = await weft(['connections', 'replace', 'x']);
  assert.equal(nothing.code, 2);
  const bad = await weft([
    'connections',
    'create',
    'x',
    '--connector',
    'redis',
    '--settings',
    '{"host":"h","db":"one"}',
  ]);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /\/settings\/db/);
});
