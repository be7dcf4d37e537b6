/**
 * `POST /v1/connections/{name}/test`: one harmless call through a connection, as a run's task
 * would make it (same pool code, egress policy and target naming), answered without a secret.
 */
import { ApplicationFailure } from '@temporalio/common';
import { aiEndpoint, connectionClient, modelFailure } from './ai.js';
import { aiEndpointOf, connectionEnv, connectionSecretValues, type ResolvedConnection } from './connections.js';
import { connectionKey, type ConnectorRegistry } from './connectors/registry.js';
import { createMask } from './mask.js';

/** What each connector's probe calls: an action and its params (none: connecting is the test). */
type Probe =
  | { action: string; params: Record<string, unknown> }
  /** No harmless action: the check runs on the opened connection. */
  | { check: (connection: unknown) => Promise<unknown> };

const PROBES: Record<string, Probe | undefined> = {
  postgres: { action: 'query', params: { sql: 'SELECT 1 AS ok' } },
  redis: { action: 'get', params: { key: 'weft:connection-test' } },
  http: { action: 'request', params: { method: 'HEAD', url: '/', follow_redirects: false } },
  // Opening the connection connects (and authenticates) to the servers.
  nats: { check: (nc) => (nc as { flush(): Promise<void> }).flush() },
  // Connects, says EHLO, starts TLS and logs in, sending nothing.
  email: { check: (mailer) => (mailer as { transport: { verify(): Promise<unknown> } }).transport.verify() },
};

export interface ProbeResult {
  ok: boolean;
  /** What went wrong, naming the connector's target, never a secret. */
  error?: { type: string; message: string };
  /** For http: the status the base URL answered (any status means it was reached). */
  status?: number;
}

export async function probeConnection(
  registry: ConnectorRegistry,
  tenant: string,
  connection: ResolvedConnection,
): Promise<ProbeResult> {
  const mask = createMask(connectionSecretValues(connection));
  if (connection.connector === 'ai') return probeAi(registry, tenant, connection, mask);
  const connector = registry.get(connection.connector);
  const probe = PROBES[connection.connector];
  if (!connector || !probe) return { ok: false, error: { type: 'UnknownConnector', message: 'nothing to test' } };
  const action = 'action' in probe ? connector.actions[probe.action] : undefined;
  if ('action' in probe && !action)
    return { ok: false, error: { type: 'UnknownConnector', message: 'nothing to test' } };
  const scope = {
    name: connection.name,
    key: `probe:${connectionKey(connection.connector, tenant, connection.name, connection.version)}`,
    env: connectionEnv(connection, registry.settings()),
  };
  const signal = AbortSignal.timeout(15_000);
  try {
    const answer = await registry.call(
      connector,
      tenant,
      (pooled) =>
        'check' in probe || !action
          ? 'check' in probe
            ? probe.check(pooled)
            : Promise.resolve(undefined)
          : action.execute(pooled, action.params.parse(probe.params), {
              signal,
              heartbeat: () => undefined,
              egress: registry.egress(tenant),
              maxResponseBytes: registry.maxResponseBytes(64 * 1024),
            }),
      scope,
    );
    const status = (answer as { status?: unknown } | undefined)?.status;
    return { ok: true, ...(connection.connector === 'http' && typeof status === 'number' ? { status } : {}) };
  } catch (err) {
    const status = httpStatus(err);
    // An http answer, whatever its status, means the base URL was reached.
    if (connection.connector === 'http' && status !== undefined) return { ok: true, status };
    const type = err instanceof ApplicationFailure ? (err.type ?? 'Error') : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, error: { type, message: mask.text(message) } };
  } finally {
    await registry.retire(tenant, connection.name);
  }
}

/** An `ai` connection: its model list (`GET {base_url}/models`), a call that costs no tokens. */
async function probeAi(
  registry: ConnectorRegistry,
  tenant: string,
  connection: ResolvedConnection,
  mask: ReturnType<typeof createMask>,
): Promise<ProbeResult> {
  const endpoint = aiEndpointOf(connection);
  const client = connectionClient(
    { name: connection.name, key: '', ...endpoint, egress: registry.egress(tenant) },
    15_000,
  );
  try {
    await client.models.list();
    return { ok: true };
  } catch (err) {
    const failure = modelFailure(err, '', `${aiEndpoint(endpoint.baseURL)}/models via connection "${connection.name}"`);
    const type = failure instanceof ApplicationFailure ? (failure.type ?? 'Error') : 'Error';
    const message = failure instanceof Error ? failure.message : String(failure);
    return { ok: false, error: { type, message: mask.text(message) } };
  }
}

function httpStatus(err: unknown): number | undefined {
  if (!(err instanceof ApplicationFailure) || err.type !== 'HttpError') return undefined;
  const details = err.details?.[0] as { status?: unknown } | undefined;
  return typeof details?.status === 'number' ? details.status : undefined;
}
