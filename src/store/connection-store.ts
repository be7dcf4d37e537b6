/**
 * Named connections per tenant, in the definition store's database (`connections` table of both
 * stores). The store holds the non-secret `settings` as JSON and the secret settings only sealed
 * (src/connections/connection-crypto.ts): it never sees them in clear.
 */
export interface StoredConnection {
  name: string;
  connector: string;
  /** The non-secret settings (JSON object). */
  settings: Record<string, unknown>;
  /** The secret settings, sealed for this tenant, name, connector and version. */
  sealed_secrets: string;
  /** Names of the secret settings that are set (shown; their values never are). */
  secret_fields: string[];
  /** 1 at create, one more on every replace. */
  version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

/** A `connections` row as both stores read it; `T` is how the driver gives a timestamp. */
export interface ConnectionRow<T = string> {
  name: string;
  connector: string;
  settings: string;
  sealed_secrets: string;
  secret_fields: string;
  version: number;
  created_at: T;
  created_by: string;
  updated_at: T;
  updated_by: string;
}

/** The columns of a {@link ConnectionRow}, as both stores select them. */
export const CONNECTION_COLUMNS =
  'name, connector, settings, sealed_secrets, secret_fields, version, created_at, created_by, updated_at, updated_by';

/** A row as the stored connection it holds (the JSON columns parsed), with its times as ISO text. */
export function storedConnection<T>(row: ConnectionRow<T>, iso: (time: T) => string): StoredConnection {
  return {
    ...row,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secret_fields: JSON.parse(row.secret_fields) as string[],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export type NewConnection = Pick<
  StoredConnection,
  'name' | 'connector' | 'settings' | 'sealed_secrets' | 'secret_fields'
>;

export interface ConnectionStore {
  /** False when the tenant has a connection of that name already. */
  create(tenant: string, connection: NewConnection, actor: string): Promise<boolean>;
  get(tenant: string, name: string): Promise<StoredConnection | undefined>;
  /** The tenant's connections, by name. */
  list(tenant: string): Promise<StoredConnection[]>;
  /**
   * Replaces settings and sealed secrets as version `version` (`expected` + 1), only if the
   * stored one is still at `expected`; false otherwise (changed meanwhile, or deleted).
   */
  replace(
    tenant: string,
    name: string,
    expected: number,
    next: Pick<StoredConnection, 'settings' | 'sealed_secrets' | 'secret_fields'>,
    actor: string,
  ): Promise<boolean>;
  /** False when the tenant has no such connection. */
  delete(tenant: string, name: string): Promise<boolean>;
}
