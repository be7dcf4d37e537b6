/** The templates of every tenant in the SQLite definition store's file (`templates` table). */
import type Database from 'better-sqlite3';
import type { Template } from '../templates/template-schema.js';
import { templateBody, type StoredTemplate, type TemplatePut, type TemplateStore } from './template-store.js';

export const TEMPLATE_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS templates (
     tenant TEXT NOT NULL,
     id TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     PRIMARY KEY (tenant, id)
   )`,
];

interface TemplateRow {
  body: string;
  created_at: string;
  created_by: string;
}

const stored = (row: TemplateRow): StoredTemplate => ({
  template: JSON.parse(row.body) as Template,
  created_at: row.created_at,
  created_by: row.created_by,
});

export class SqliteTemplateStore implements TemplateStore {
  constructor(private readonly db: Database.Database) {
    for (const statement of TEMPLATE_MIGRATIONS) db.exec(statement);
  }

  create(tenant: string, template: Template, actor: string): Promise<TemplatePut> {
    const body = templateBody(template);
    const put = this.db.transaction((): TemplatePut => {
      const row = this.db.prepare('SELECT body FROM templates WHERE tenant = ? AND id = ?').get(tenant, template.id) as
        { body: string } | undefined;
      if (row) return row.body === body ? 'identical' : 'conflict';
      this.db
        .prepare('INSERT INTO templates (tenant, id, body, created_at, created_by) VALUES (?, ?, ?, ?, ?)')
        .run(tenant, template.id, body, new Date().toISOString(), actor);
      return 'created';
    });
    return Promise.resolve(put.immediate());
  }

  get(tenant: string, id: string): Promise<StoredTemplate | undefined> {
    const row = this.db
      .prepare('SELECT body, created_at, created_by FROM templates WHERE tenant = ? AND id = ?')
      .get(tenant, id) as TemplateRow | undefined;
    return Promise.resolve(row ? stored(row) : undefined);
  }

  list(tenant: string): Promise<StoredTemplate[]> {
    const rows = this.db
      .prepare('SELECT body, created_at, created_by FROM templates WHERE tenant = ? ORDER BY id')
      .all(tenant) as TemplateRow[];
    return Promise.resolve(rows.map(stored));
  }

  delete(tenant: string, id: string): Promise<boolean> {
    const result = this.db.prepare('DELETE FROM templates WHERE tenant = ? AND id = ?').run(tenant, id);
    return Promise.resolve(result.changes === 1);
  }
}
