/**
 * The typed registry of connectors a worker offers. Connections are opened lazily, once per
 * worker, shared by every call, and closed by `close()` on shutdown.
 */
import type { ConnectorCatalog } from '../../interpreter/validate-definition.js';
import type { Connector } from './connector.js';
import { httpConnector } from './http.js';

/** The connectors every worker has unless told otherwise. */
export const builtInConnectors: Connector[] = [httpConnector];

export class ConnectorRegistry {
  private readonly connectors = new Map<string, Connector>();
  private readonly connections = new Map<string, Promise<unknown>>();

  constructor(connectors: Connector[] = builtInConnectors) {
    for (const connector of connectors) this.connectors.set(connector.service_type, connector);
  }

  get(serviceType: string): Connector | undefined {
    return this.connectors.get(serviceType);
  }

  /** Names of connectors and their actions, for submit-time validation. */
  catalog(): ConnectorCatalog {
    return Object.fromEntries([...this.connectors].map(([name, c]) => [name, Object.keys(c.actions)]));
  }

  /** The pooled connection of a connector, opened on first use. */
  connection(connector: Connector): Promise<unknown> {
    let connection = this.connections.get(connector.service_type);
    if (!connection) {
      connection = connector.connect();
      // A failed connect must not poison the pool: the next call tries again.
      connection.catch(() => this.connections.delete(connector.service_type));
      this.connections.set(connector.service_type, connection);
    }
    return connection;
  }

  /** Disconnects every opened connection. */
  async close(): Promise<void> {
    const open = [...this.connections];
    this.connections.clear();
    await Promise.allSettled(
      open.map(async ([name, connection]) => this.connectors.get(name)?.disconnect(await connection)),
    );
  }
}
