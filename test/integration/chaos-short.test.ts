/**
 * The chaos harness's short profile (issue 18): `npm run chaos` on the dev-server target, its
 * own Temporal dev server on a SQLite file, two worker and two gateway processes on a PostgreSQL
 * definition store, three runs per fault type (worker, gateway, dev server, PostgreSQL backends,
 * all at once) with a fixed seed. The harness is the child process `npm run chaos` runs; it exits
 * 0 only when every accepted run completed with the right result and every accepted event reached
 * its run. The full profile (50 runs per fault type) is documented in RELIABILITY.md.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const harness = fileURLToPath(new URL('../chaos/run.js', import.meta.url));

test(
  'short chaos profile on the dev server: no accepted run or event lost, no wrong result',
  { timeout: 900_000 },
  async (t) => {
    const child = spawn(
      process.execPath,
      [harness, '--target', 'dev', '--runs', '3', '--seed', '18', '--faults-per-phase', '2', '--phase-timeout', '300'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    t.diagnostic(out);
    assert.equal(code, 0, `the harness exited ${code}:\n${out}`);
    assert.match(out, /chaos: OK/);
    // Every fault type the dev target has ran, each with its three runs accepted and completed.
    for (const fault of ['worker', 'gateway', 'dev-server', 'postgres', 'all']) {
      const row = out.split('\n').find((line) => line.startsWith(`| ${fault} `));
      assert.ok(row, `no row for ${fault}:\n${out}`);
      const [, , injected, accepted, completed] = row.split('|').map((cell) => cell.trim());
      assert.ok(Number(injected) >= 1, `${fault}: no fault injected`);
      assert.equal(accepted, '3', `${fault}: accepted`);
      assert.equal(completed, '3', `${fault}: completed`);
    }
  },
);
