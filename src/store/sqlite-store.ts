/**
 * The default definition store: one SQLite file (WAL journal, synchronous commits), so an
 * accepted definition survives a crash of the gateway the moment it was answered. Audit entries
 * are committed by a writer thread in batches (`sqlite-audit-writer.ts`), off the event loop.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Definition, VersionedDefinition } from '../../interpreter/definition-schema.js';
import {
  activeVersionValue,
  AUDIT_COLUMNS,
  auditEntryOf,
  auditValues,
  auditWhere,
  contentHash,
  definitionSummary,
  type AuditEntry,
  type AuditFilter,
  parseVersion,
  type DefinitionStore,
  type DefinitionSummary,
  type SubmitOptions,
  type SubmitResult,
  type VersionInfo,
} from './definition-store.js';
import type { AccessStore } from './access-store.js';
import { migrateAuditTenant, SqliteAccessStore } from './sqlite-access.js';
import { SqliteTemplateStore } from './sqlite-templates.js';
import type { TemplateStore } from './template-store.js';
import type { ConnectionStore } from './connection-store.js';
import { AUDIT_INSERT, AuditWriter } from './sqlite-audit-writer.js';
import { SqliteConnectionStore } from './sqlite-connections.js';

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS definitions (
     id TEXT PRIMARY KEY,
     name TEXT,
     latest_version INTEGER NOT NULL,
     active_version INTEGER
   )`,
  `CREATE TABLE IF NOT EXISTS definition_versions (
     id TEXT NOT NULL REFERENCES definitions(id),
     version INTEGER NOT NULL,
     body TEXT NOT NULL,
     content_hash TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     PRIMARY KEY (id, version)
   )`,
  `CREATE TABLE IF NOT EXISTS audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     request_id TEXT NOT NULL,
     status INTEGER NOT NULL,
     error_code TEXT
   )`,
  'CREATE INDEX IF NOT EXISTS audit_at ON audit (at)',
];

interface DefinitionRow {
  id: string;
  name: string | null;
  latest_version: number;
  active_version: number | null;
}

export class SqliteDefinitionStore implements DefinitionStore {
  private readonly db: Database.Database;
  readonly access: AccessStore;
  readonly templates: TemplateStore;
  readonly connections: ConnectionStore;
  /**
   * Started by the first entry (a worker's store never writes any); never for `:memory:`, whose
   * one connection no thread can share: its entries are written inline.
   */
  private auditWriter: AuditWriter | undefined;

  constructor(private readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    for (const statement of MIGRATIONS) this.db.exec(statement);
    migrateAuditTenant(this.db);
    this.access = new SqliteAccessStore(this.db);
    this.templates = new SqliteTemplateStore(this.db);
    this.connections = new SqliteConnectionStore(this.db);
  }

  submit(definition: Definition, actor: string, options: SubmitOptions = {}): Promise<SubmitResult> {
    const hash = contentHash(definition);
    const run = this.db.transaction((): SubmitResult => {
      const row = this.db.prepare('SELECT * FROM definitions WHERE id = ?').get(definition.id) as
        DefinitionRow | undefined;
      if (row) {
        const latest = this.db
          .prepare('SELECT content_hash FROM definition_versions WHERE id = ? AND version = ?')
          .get(definition.id, row.latest_version) as { content_hash: string } | undefined;
        if (latest?.content_hash === hash)
          return { id: definition.id, version: String(row.latest_version), created: false };
      }
      const version = (row?.latest_version ?? 0) + 1;
      const body = JSON.stringify({ ...definition, version: String(version) });
      if (row) {
        this.db
          .prepare('UPDATE definitions SET latest_version = ?, name = ? WHERE id = ?')
          .run(version, definition.name ?? null, definition.id);
      } else {
        this.db
          .prepare('INSERT INTO definitions (id, name, latest_version, active_version) VALUES (?, ?, ?, NULL)')
          .run(definition.id, definition.name ?? null, version);
      }
      this.db
        .prepare(
          'INSERT INTO definition_versions (id, version, body, content_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(definition.id, version, body, hash, new Date().toISOString(), actor);
      if (options.keepActive) {
        // Pin what was active (0: nothing yet), so the new version waits to be activated.
        this.db
          .prepare('UPDATE definitions SET active_version = COALESCE(active_version, ?) WHERE id = ?')
          .run(version - 1, definition.id);
      }
      return { id: definition.id, version: String(version), created: true };
    });
    return Promise.resolve(run.immediate());
  }

  get(id: string, version?: string): Promise<VersionedDefinition | undefined> {
    const row = this.db.prepare('SELECT * FROM definitions WHERE id = ?').get(id) as DefinitionRow | undefined;
    if (!row) return Promise.resolve(undefined);
    const wanted = version === undefined ? (row.active_version ?? row.latest_version) : parseVersion(version);
    // 0: no version is active (four-eyes publishing before a first approval).
    if (wanted === undefined || wanted === 0) return Promise.resolve(undefined);
    const found = this.db
      .prepare('SELECT body FROM definition_versions WHERE id = ? AND version = ?')
      .get(id, wanted) as { body: string } | undefined;
    return Promise.resolve(found ? (JSON.parse(found.body) as VersionedDefinition) : undefined);
  }

  list(): Promise<DefinitionSummary[]> {
    const rows = this.db.prepare('SELECT * FROM definitions ORDER BY id').all() as DefinitionRow[];
    return Promise.resolve(rows.map((row) => definitionSummary(row, row.name ?? undefined)));
  }

  versions(id: string): Promise<VersionInfo[] | undefined> {
    const rows = this.db
      .prepare('SELECT version, created_at, created_by FROM definition_versions WHERE id = ? ORDER BY version')
      .all(id) as Array<{ version: number; created_at: string; created_by: string }>;
    if (rows.length === 0) return Promise.resolve(undefined);
    return Promise.resolve(
      rows.map((r) => ({ version: String(r.version), created_at: r.created_at, created_by: r.created_by })),
    );
  }

  setActive(id: string, version: string | null): Promise<boolean> {
    const wanted = activeVersionValue(version);
    if (wanted === undefined) return Promise.resolve(false);
    const exists =
      wanted === 0
        ? this.db.prepare('SELECT 1 FROM definitions WHERE id = ?').get(id)
        : this.db.prepare('SELECT 1 FROM definition_versions WHERE id = ? AND version = ?').get(id, wanted);
    if (!exists) return Promise.resolve(false);
    this.db.prepare('UPDATE definitions SET active_version = ? WHERE id = ?').run(wanted, id);
    return Promise.resolve(true);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    if (!this.db.open) return Promise.reject(new Error('audit log: the definition store is closed'));
    if (this.path !== ':memory:') return (this.auditWriter ??= new AuditWriter(this.path)).append(entry);
    this.db.prepare(AUDIT_INSERT).run(...auditValues(entry));
    return Promise.resolve();
  }

  listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const { where, values } = auditWhere(filter, () => '?');
    const rows = this.db
      .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit ${where} ORDER BY seq DESC LIMIT ?`)
      .all(...values, filter.limit) as Array<Parameters<typeof auditEntryOf>[0]>;
    return Promise.resolve(rows.map(auditEntryOf));
  }

  ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.auditWriter?.close();
    if (this.db.open) this.db.close();
  }
}
