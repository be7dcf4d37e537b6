/**
 * `npm start`'s dev server SQLite settings: a real dev server on a file started with
 * `devServerPragmas` runs in WAL mode (its `-wal` file holds the commits), the default one does
 * not, and a malformed `WEFT_TEMPORAL_SQLITE_PRAGMAS` is refused naming the variable.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { devServerPragmas, startDevServer } from '../../src/temporal/dev-server.js';

test('WEFT_TEMPORAL_SQLITE_PRAGMAS: journal_mode=wal first, then the variable; malformed entries refused', () => {
  assert.deepEqual(devServerPragmas(undefined), { journal_mode: 'wal' });
  assert.deepEqual(devServerPragmas('synchronous=normal'), { journal_mode: 'wal', synchronous: 'normal' });
  assert.deepEqual(devServerPragmas(' journal_mode=delete , '), { journal_mode: 'delete' });
  assert.throws(() => devServerPragmas('synchronous'), /WEFT_TEMPORAL_SQLITE_PRAGMAS: expected name=value pairs/);
  assert.throws(() => devServerPragmas('a=b;DROP'), /WEFT_TEMPORAL_SQLITE_PRAGMAS/);
});

for (const [name, pragmas, wal] of [
  ['npm start settings', devServerPragmas(undefined), true],
  ['CLI defaults', {}, false],
] as const) {
  test(`a dev server on a file with the ${name} ${wal ? 'writes' : 'does not write'} a WAL`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-pragmas-'));
    const dbFile = join(dir, 'temporal.db');
    const server = await startDevServer({ headless: true, dbFile, sqlitePragmas: pragmas, log: () => undefined });
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection });
      await client.workflow.start('interpret', { taskQueue: 'nobody-polls', workflowId: 'pragmas-1', args: [] });
      assert.equal(existsSync(`${dbFile}-wal`), wal);
    } finally {
      await connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
