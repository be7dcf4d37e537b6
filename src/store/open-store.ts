/** Opens the definition store named by `DATABASE_URL` (`sqlite:<path>`; PostgreSQL comes next). */
import type { DefinitionStore } from './definition-store.js';
import { SqliteDefinitionStore } from './sqlite-store.js';

export function openDefinitionStore(databaseUrl: string): DefinitionStore {
  if (databaseUrl.startsWith('sqlite:')) return new SqliteDefinitionStore(databaseUrl.slice('sqlite:'.length));
  throw new Error(`DATABASE_URL: unsupported store "${databaseUrl.split(':')[0]}:"; expected sqlite:<path>`);
}
