/** The templates of every tenant in the PostgreSQL definition store (`templates`, migration 5). */
import type pg from 'pg';
import { DEFINITION_ID_PATTERN } from '../../interpreter/definition-schema.js';
import type { Template } from '../templates/template-schema.js';
import { templateBody, type StoredTemplate, type TemplatePut, type TemplateStore } from './template-store.js';

interface TemplateRow {
  body: string;
  created_at: Date;
  created_by: string;
}

const stored = (row: TemplateRow): StoredTemplate => ({
  template: JSON.parse(row.body) as Template,
  created_at: row.created_at.toISOString(),
  created_by: row.created_by,
});

/** Runs a query, turning "database unreachable" into `StoreUnavailableError` (postgres-errors.ts). */
export type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

export class PostgresTemplateStore implements TemplateStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly guarded: Guard,
  ) {}

  create(tenant: string, template: Template, actor: string): Promise<TemplatePut> {
    const body = templateBody(template);
    return this.guarded(async () => {
      // One statement: concurrent creates of an id store one of them; the others compare with it.
      const inserted = await this.pool.query(
        `INSERT INTO templates (tenant, id, body, created_at, created_by) VALUES ($1, $2, $3, now(), $4)
         ON CONFLICT (tenant, id) DO NOTHING`,
        [tenant, template.id, body, actor],
      );
      if (inserted.rowCount === 1) return 'created';
      const { rows } = await this.pool.query<{ body: string }>(
        'SELECT body FROM templates WHERE tenant = $1 AND id = $2',
        [tenant, template.id],
      );
      return rows[0]?.body === body ? 'identical' : 'conflict';
    });
  }

  get(tenant: string, id: string): Promise<StoredTemplate | undefined> {
    if (!DEFINITION_ID_PATTERN.test(id)) return Promise.resolve(undefined);
    return this.guarded(async () => {
      const { rows } = await this.pool.query<TemplateRow>(
        'SELECT body, created_at, created_by FROM templates WHERE tenant = $1 AND id = $2',
        [tenant, id],
      );
      const row = rows[0];
      return row ? stored(row) : undefined;
    });
  }

  list(tenant: string): Promise<StoredTemplate[]> {
    return this.guarded(async () => {
      const { rows } = await this.pool.query<TemplateRow>(
        'SELECT body, created_at, created_by FROM templates WHERE tenant = $1 ORDER BY id',
        [tenant],
      );
      return rows.map(stored);
    });
  }

  delete(tenant: string, id: string): Promise<boolean> {
    if (!DEFINITION_ID_PATTERN.test(id)) return Promise.resolve(false);
    return this.guarded(async () => {
      const result = await this.pool.query('DELETE FROM templates WHERE tenant = $1 AND id = $2', [tenant, id]);
      return result.rowCount === 1;
    });
  }
}
