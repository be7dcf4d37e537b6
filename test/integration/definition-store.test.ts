/**
 * The definition store contract, run unchanged against every implementation (SQLite and
 * PostgreSQL): version numbering, content deduplication, the active version, version listings,
 * and concurrent submits from two store instances sharing one database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { WorkflowDefinition, type Definition } from '../../interpreter/definition-schema.js';
import type { DefinitionStore } from '../../src/store/definition-store.js';
import { openDefinitionStore } from '../../src/store/open-store.js';
import { MIGRATIONS } from '../../src/store/postgres-migrations.js';
import { createTestDatabase } from '../support/postgres.js';
import { unique } from '../support/temporal.js';

/** One backend: a DATABASE_URL to open any number of stores on, and its cleanup. */
interface Backend {
  url: string;
  cleanup(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  sqlite: () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-store-'));
    return Promise.resolve({
      url: `sqlite:${join(dir, 'definitions.db')}`,
      cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    });
  },
  postgres: async () => {
    const db = await createTestDatabase();
    return { url: db.url, cleanup: () => db.drop() };
  },
};

function definition(id: string, extra: Record<string, unknown> = {}): Definition {
  return WorkflowDefinition.parse({ id, nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }], ...extra });
}

/** The same value with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

for (const [name, makeBackend] of Object.entries(backends)) {
  describe(`definition store contract: ${name}`, () => {
    let backend: Backend;
    let store: DefinitionStore;
    let other: DefinitionStore;

    before(async () => {
      backend = await makeBackend();
      // Two instances on one database stand for two gateways sharing a registry.
      [store, other] = await Promise.all([openDefinitionStore(backend.url), openDefinitionStore(backend.url)]);
    });
    after(async () => {
      await store?.close();
      await other?.close();
      await backend?.cleanup();
    });

    test('appends audit entries and lists them newest first, filtered, across instances', async () => {
      const actor = unique('auditor');
      const t0 = Date.now();
      const at = (s: number) => new Date(t0 + s * 1000).toISOString();
      await store.appendAudit({
        at: at(0),
        actor,
        tenant: 'default',
        action: 'run.start',
        target: 'a',
        request_id: 'r1',
        status: 201,
      });
      await other.appendAudit({
        at: at(1),
        actor,
        tenant: 'default',
        action: 'run.cancel',
        target: 'a-1',
        request_id: 'r2',
        status: 202,
      });
      await store.appendAudit({
        at: at(2),
        actor,
        tenant: 'default',
        action: 'run.start',
        target: 'a',
        request_id: 'r3',
        status: 400,
        error_code: 'validation_failed',
      });
      const all = await other.listAudit({ actor, limit: 10 });
      assert.deepEqual(
        all.map((e) => e.request_id),
        ['r3', 'r2', 'r1'],
      );
      assert.deepEqual(all[0], {
        at: at(2),
        actor,
        tenant: 'default',
        action: 'run.start',
        target: 'a',
        request_id: 'r3',
        status: 400,
        error_code: 'validation_failed',
      });
      assert.equal('error_code' in (all[1] ?? {}), false);
      const starts = await store.listAudit({ actor, action: 'run.start', target: 'a', limit: 10 });
      assert.deepEqual(
        starts.map((e) => e.request_id),
        ['r3', 'r1'],
      );
      assert.deepEqual(
        (await store.listAudit({ actor, since: at(1), limit: 10 })).map((e) => e.request_id),
        ['r3', 'r2'],
      );
      assert.deepEqual(
        (await store.listAudit({ actor, limit: 1 })).map((e) => e.request_id),
        ['r3'],
      );
    });

    test('assigns versions 1, 2, 3 and returns each as submitted', async () => {
      const id = unique('numbered');
      for (const n of [1, 2, 3]) {
        const result = await store.submit(definition(id, { description: `rev ${n}` }), 'alice');
        assert.deepEqual(result, { id, version: String(n), created: true });
      }
      for (const n of [1, 2, 3]) {
        const got = await other.get(id, String(n));
        assert.equal(got?.version, String(n));
        assert.equal(got?.description, `rev ${n}`);
      }
    });

    test('identical content in any key order answers created: false with the latest version', async () => {
      const id = unique('dedup');
      const first = definition(id, { name: 'Dedup', variables: [{ name: 'v', type: 'string', default: 'x' }] });
      assert.equal((await store.submit(first, 'alice')).created, true);
      const reordered = reverseKeys(first) as Definition;
      assert.notEqual(JSON.stringify(reordered), JSON.stringify(first));
      assert.deepEqual(await other.submit(reordered, 'bob'), { id, version: '1', created: false });

      // Only the latest version counts: going back to older content is a new version.
      await store.submit(definition(id, { name: 'Changed' }), 'alice');
      assert.deepEqual(await store.submit(first, 'alice'), { id, version: '3', created: true });
      assert.deepEqual(await store.submit(first, 'alice'), { id, version: '3', created: false });
    });

    test('the active version is the latest unless set, and cannot be set to a missing version', async () => {
      const id = unique('active');
      for (const n of [1, 2, 3]) await store.submit(definition(id, { description: `rev ${n}` }), 'alice');
      assert.equal((await store.get(id))?.version, '3');

      assert.equal(await store.setActive(id, '2'), true);
      assert.equal((await other.get(id))?.version, '2');
      const summary = (await store.list()).find((d) => d.id === id);
      assert.deepEqual(summary, { id, latest_version: '3', active_version: '2' });

      // An explicit choice survives later submits.
      await store.submit(definition(id, { description: 'rev 4' }), 'alice');
      assert.equal((await store.get(id))?.version, '2');

      for (const missing of ['5', '0', '01', '1.0', 'abc', '99999999999999999999', '']) {
        assert.equal(await store.setActive(id, missing), false, `setActive("${missing}")`);
        assert.equal(await store.get(id, missing), undefined, `get("${missing}")`);
      }
      assert.equal(await store.setActive(unique('nothing'), '1'), false);
      assert.equal(await store.get(unique('nothing')), undefined);
      assert.equal(await store.get('Not An Id\u0000'), undefined);
      assert.equal((await store.get(id))?.version, '2');
    });

    test('lists versions with created_at and created_by, in order', async () => {
      const id = unique('listing');
      const before = Date.now() - 5_000;
      await store.submit(definition(id, { description: 'one' }), 'alice');
      await other.submit(definition(id, { description: 'two' }), 'bob');
      const versions = await store.versions(id);
      assert.deepEqual(
        versions?.map((v) => [v.version, v.created_by]),
        [
          ['1', 'alice'],
          ['2', 'bob'],
        ],
      );
      for (const v of versions ?? []) {
        assert.match(v.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        assert.ok(Date.parse(v.created_at) >= before, v.created_at);
      }
      assert.ok(Date.parse(versions?.[0]?.created_at ?? '') <= Date.parse(versions?.[1]?.created_at ?? ''));
      assert.equal(await store.versions(unique('nothing')), undefined);
    });

    test('names and content round-trip exactly, including U+0000', async () => {
      const id = unique('roundtrip');
      const tricky = definition(id, { name: 'nul \u0000 and ☃', description: 'quote " backslash \\ \u0000' });
      await store.submit(tricky, 'alice');
      const got = await other.get(id);
      assert.equal(got?.name, tricky.name);
      assert.equal(got?.description, tricky.description);
      assert.equal((await store.list()).find((d) => d.id === id)?.name, tricky.name);
    });

    test('10 concurrent submits of different content get 10 distinct versions', async () => {
      const id = unique('race');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? store : other).submit(definition(id, { description: `writer ${i}` }), `w${i}`),
        ),
      );
      assert.ok(results.every((r) => r.created));
      const numbers = results.map((r) => Number(r.version)).sort((a, b) => a - b);
      assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const stored = await store.versions(id);
      assert.equal(stored?.length, 10);
      // Each writer's content sits under the version it was told.
      for (const [i, result] of results.entries()) {
        assert.equal((await store.get(id, result.version))?.description, `writer ${i}`);
      }
    });

    test('10 concurrent submits of the same content create exactly one version', async () => {
      const id = unique('same');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : other).submit(definition(id), 'w')),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.ok(results.every((r) => r.version === '1'));
    });

    test('ping answers', async () => {
      await store.ping();
    });
  });
}

describe('PostgreSQL migrations', () => {
  test('run once when several stores open a fresh database together, and are idempotent', async () => {
    const db = await createTestDatabase();
    const stores: DefinitionStore[] = [];
    try {
      stores.push(...(await Promise.all(Array.from({ length: 4 }, () => openDefinitionStore(db.url)))));
      stores.push(await openDefinitionStore(db.url));
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY 1');
        assert.deepEqual(
          rows.map((r) => r.version),
          MIGRATIONS.map((m) => m.version),
        );
        // A migration this code does not know means a newer gateway migrated the database.
        await client.query("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')");
      } finally {
        await client.end();
      }
      await assert.rejects(openDefinitionStore(db.url), /schema migration\(s\) 9999/);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });

  test('a store whose database is down answers StoreUnavailableError', async () => {
    const db = await createTestDatabase();
    const store = await openDefinitionStore(db.url);
    try {
      await db.drop(); // FORCE terminates the store's connections
      await assert.rejects(store.get('anything'), { name: 'StoreUnavailableError' });
      await assert.rejects(store.ping(), { name: 'StoreUnavailableError' });
    } finally {
      await store.close();
    }
  });
});
