/**
 * The worker's side of named connections: the tenant's connection read from the definition store
 * and its secret settings decrypted, in the activity that needs it, on every call (a rotated or
 * deleted connection holds for the next call). Nothing of it goes into an activity's input or
 * result: the activity keeps it in memory for the call (and its connector pool).
 */
import { ErrorTypes, nonRetryableFailure } from '../../activities/errors.js';
import type { ConnectionSource, ResolvedConnection } from '../../activities/connections.js';
import type { ConnectionStore, StoredConnection } from '../store/connection-store.js';
import { unseal } from './connection-crypto.js';

/** The secret settings of a stored connection, decrypted (throws naming the connection, never a value). */
export function openSecrets(key: Buffer, tenant: string, row: StoredConnection): Record<string, unknown> {
  const value = unseal(
    key,
    { tenant, name: row.name, connector: row.connector, version: row.version },
    row.sealed_secrets,
  );
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function storeConnectionSource(store: Pick<ConnectionStore, 'get'>, key: Buffer | undefined): ConnectionSource {
  return {
    async resolve(tenant: string, name: string): Promise<ResolvedConnection | undefined> {
      const row = await store.get(tenant, name);
      if (!row) return undefined;
      if (!key) {
        throw nonRetryableFailure(
          ErrorTypes.NotConfigured,
          `connection "${name}": the worker has no WEFT_CONNECTION_KEY to decrypt its secret settings (set the gateway's key)`,
        );
      }
      let secrets: Record<string, unknown>;
      try {
        secrets = openSecrets(key, tenant, row);
      } catch (err) {
        throw nonRetryableFailure(
          ErrorTypes.NotConfigured,
          `connection "${name}": ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return {
        name: row.name,
        connector: row.connector,
        version: row.version,
        settings: row.settings,
        secret_settings: secrets,
      };
    },
  };
}
