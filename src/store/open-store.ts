/**
 * Opens the definition store named by `DATABASE_URL`: `sqlite:<path>` (the default) or
 * `postgres://…` / `postgresql://…` (migrated on open).
 */
import type { DefinitionStore } from './definition-store.js';
import { PostgresDefinitionStore } from './postgres-store.js';
import { SqliteDefinitionStore } from './sqlite-store.js';

export async function openDefinitionStore(databaseUrl: string): Promise<DefinitionStore> {
  if (databaseUrl.startsWith('sqlite:')) return new SqliteDefinitionStore(databaseUrl.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return PostgresDefinitionStore.open(databaseUrl);
  throw new Error(
    `DATABASE_URL: unsupported store "${databaseUrl.split(':')[0]}:"; expected sqlite:<path> or postgres://…`,
  );
}
