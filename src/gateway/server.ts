/**
 * Wires a gateway from configuration: store, Temporal client (lazy, so the gateway starts and
 * answers 503 while Temporal is down), routes, and an HTTP server.
 */
import { QUOTA_NAMES, effectiveQuotas, type Quotas } from '../../interpreter/quotas.js';
import type { TenantRecord } from '../store/access-store.js';
import type { Server } from 'node:http';
import { isIPv6, type AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type express from 'express';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { createSecretLookup } from '../../activities/secrets.js';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { RedisReplayGuard } from './webhook-signature.js';
import { createGatewayMetrics, type GatewayMetrics } from '../metrics/gateway-metrics.js';
import { DefinitionIdKey, TenantKey } from '../shared/search-attributes.js';
import { openDefinitionStore } from '../store/open-store.js';
import { clientTracing } from '../telemetry/temporal-tracing.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { codecFromKeys, encryptingDataConverter } from '../codec/data-converter.js';
import { GatewayAuth } from '../auth/authenticate.js';
import { DEFAULT_TENANT } from '../shared/tenants.js';
import { createJwtVerifier, JwksUnavailable, JwtRejected } from '../auth/jwt.js';
import type { DefinitionStore } from '../store/definition-store.js';
import { codecGuard } from '../auth/codec-guard.js';
import type { GatewayDeps } from './gateway-deps.js';
import { AuditLog, eventDeliveryEntry } from './audit.js';
import { TenantDefinitions } from '../store/tenant-store.js';
import { createGateway } from './app.js';
import { HttpError } from '../shared/http-error.js';
import { TenantScopes } from './tenant-scopes.js';
import { DefinitionStats } from './definition-stats.js';
import { startNatsEvents, type NatsEvents } from './nats-events.js';
import { RunControl } from './run-control.js';
import { RunListing } from './run-listing.js';
import { OutlivingWork } from './outliving-work.js';
import { RunService } from './run-service.js';
import { ScheduleSync } from './schedule-sync.js';
import { runConnectorQueues } from '../shared/connector-queues.js';

/** How long a closing gateway waits for Temporal calls that outlived their answers. */
const CLOSE_WAIT_MS = 20_000;

/** Temporal's execution statuses, as the `weft_runs` gauge's `status` label names them. */
const COUNTED_STATUSES: Record<string, string> = {
  Running: 'running',
  Completed: 'completed',
  Failed: 'failed',
  Terminated: 'failed',
  TimedOut: 'failed',
  Canceled: 'cancelled',
};

/**
 * Visibility counts per definition (the first 200) and status, for the `weft_runs` gauge: the
 * default tenant's (metrics are the installation's; other tenants read their stats per definition).
 * One count per definition, grouped by execution status (four per definition took 11.6 s with
 * 200 definitions).
 */
async function runCounts(client: Client, store: { list(): Promise<Array<{ id: string }>> }) {
  const definitions = (await store.list()).slice(0, 200);
  const perDefinition = await Promise.all(
    definitions.map(async ({ id }) => {
      const { groups } = await client.workflow.count(
        `${TenantKey.name} = '${DEFAULT_TENANT}' AND ${DefinitionIdKey.name} = ${JSON.stringify(id)} GROUP BY ExecutionStatus`,
      );
      const counts = new Map(['running', 'completed', 'failed', 'cancelled'].map((status) => [status, 0]));
      for (const group of groups) {
        const status = COUNTED_STATUSES[String(group.groupValues[0])];
        if (status) counts.set(status, (counts.get(status) ?? 0) + group.count);
      }
      return [...counts].map(([status, count]) => ({ definition_id: id, status, count }));
    }),
  );
  return perDefinition.flat();
}

/** JWT verification as the gateway answers it: 401 for a rejected token, 503 when the JWKS is unreachable. */
function jwtIdentities(verify: ReturnType<typeof createJwtVerifier>) {
  return async (token: string) => {
    try {
      return await verify(token);
    } catch (err) {
      if (err instanceof JwtRejected) throw new HttpError('unauthorized', err.message);
      if (err instanceof JwksUnavailable) throw new HttpError('unavailable', err.message);
      throw err;
    }
  };
}

/** The host of the gateway's own URL: a wildcard address is reached on loopback; IPv6 in brackets. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}

export interface RunningGateway {
  url: string;
  /** The express app, for tests that inspect its routes. */
  app: express.Express;
  server: Server;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** A started OpenTelemetry SDK (`startTelemetry`): runs started here join the request's trace. */
  tracing?: Telemetry;
}

/** The Temporal side of a gateway: one lazy connection, and a client per namespace over it. */
interface TemporalClients {
  connection: Connection;
  /** WEFT_CODEC_KEYS: inputs and memos are encrypted here, results and failures decrypted. */
  codec: ReturnType<typeof codecFromKeys>;
  dataConverter: ReturnType<typeof encryptingDataConverter> | undefined;
  /** The client of the gateway's own namespace. */
  client: Client;
  clientFor(namespace: string): Client;
}

function temporalClients(config: Config, options: GatewayOptions): TemporalClients {
  const connection = Connection.lazy({ address: config.temporalAddress, tls: config.temporalTls });
  const codec = codecFromKeys(config.codecKeys);
  const dataConverter = codec ? encryptingDataConverter(codec) : undefined;
  const newClient = (namespace: string) =>
    new Client({
      connection,
      namespace,
      ...(options.tracing ? { interceptors: clientTracing() } : {}),
      ...(dataConverter ? { dataConverter } : {}),
    });
  const client = newClient(config.namespace);
  const clients = new Map<string, Client>([[config.namespace, client]]);
  const clientFor = (namespace: string): Client => {
    let found = clients.get(namespace);
    if (!found) {
      found = newClient(namespace);
      clients.set(namespace, found);
    }
    return found;
  };
  return { connection, codec, dataConverter, client, clientFor };
}

interface ScopeWiring {
  config: Config;
  store: DefinitionStore;
  temporal: TemporalClients;
  listing: RunListing;
  outliving: OutlivingWork;
  metrics: GatewayMetrics;
  logger: Logger;
}

/** Each tenant's services, built on first use: runs, control, listing, stats and schedules on the tenant's namespace. */
function tenantScopes({ config, store, temporal, listing, outliving, metrics, logger }: ScopeWiring): TenantScopes {
  const scopes: TenantScopes = new TenantScopes({
    store,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    fourEyes: config.fourEyes,
    quotas: config.quotas,
    build: (tenant, definitions, ids) => {
      const tenantClient = temporal.clientFor(tenant.namespace);
      const connectorQueues = runConnectorQueues(config.connectorQueues, config, tenant);
      const runs = new RunService({
        client: tenantClient,
        taskQueue: tenant.taskQueue,
        namespace: tenant.namespace,
        uiUrl: config.uiUrl,
        ids,
        // Read per start, so a changed setting holds at once on every gateway.
        quotas: () => scopes.quotasOf(tenant.id),
        metrics,
        ...(connectorQueues ? { connectorQueues } : {}),
      });
      const control = new RunControl(
        tenantClient,
        definitions,
        async (definition, input, runId) =>
          (await runs.start(definition, input, runId, { startedBy: 'event-trigger' })).created,
        tenant.taskQueue,
        ids,
        metrics,
        outliving,
        connectorQueues,
      );
      return {
        runs,
        control,
        listing: listing.forTenant(ids, tenant.namespace),
        stats: new DefinitionStats(tenantClient, ids, (id, version) => definitions.get(id, version)),
        schedules: new ScheduleSync({ client: tenantClient, store: definitions, runs, logger }),
      };
    },
  });
  return scopes;
}

/** Authentication by API key and, when configured, JWT; announced (local-dev mode is logged) before use. */
async function gatewayAuth(config: Config, store: DefinitionStore, logger: Logger): Promise<GatewayAuth> {
  const auth = new GatewayAuth({
    access: store.access,
    logger,
    required: config.authRequired,
    ...(config.jwt ? { jwt: jwtIdentities(createJwtVerifier(config.jwt)) } : {}),
  });
  await auth.announce();
  return auth;
}

type AppWiring = Omit<GatewayDeps, 'catalog' | 'checkParams' | 'tenantSecret' | 'temporalReady' | 'codec'> & {
  config: Config;
  temporal: TemporalClients;
  nonces: RedisReplayGuard | undefined;
};

/** The express app over the wired services, configured as `config` says. */
function gatewayApp({ config, temporal, nonces, ...deps }: AppWiring): express.Express {
  // Only the schemas are used here; connections open in workers.
  const connectors = new ConnectorRegistry();
  const { codec, connection } = temporal;
  return createGateway({
    ...deps,
    // The same lookup (and file) connectors use for a tenant's `secret:NAME` references.
    tenantSecret: createSecretLookup({ env: {}, file: config.secretsFile }),
    catalog: connectors.catalog(),
    checkParams: (connector, action, inputs) => connectors.checkParams(connector, action, inputs),
    ...(codec
      ? {
          codec: {
            // Every namespace the gateway serves shares the key ring; the guard decides who may use it.
            codecFor: () => codec,
            guard: codecGuard(deps.store.access, config.namespace),
            allowedOrigins: [new URL(config.uiUrl).origin],
          },
        }
      : {}),
    ...(config.connectionKey ? { connectionKey: config.connectionKey } : {}),
    bodyLimit: config.maxBodyBytes,
    webhooks: { acceptBodyOnlySignatures: config.webhookBodyOnlySignatures, ...(nonces ? { replay: nonces } : {}) },
    ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
    // Asked afresh each time: the SDK's ensureConnected() keeps its first failure forever, so a
    // gateway that started before Temporal would never turn ready.
    temporalReady: async () => {
      await connection.withDeadline(Date.now() + 5_000, () => connection.workflowService.getSystemInfo({}));
    },
  });
}

/**
 * Events from NATS, when configured: the default tenant's, each delivery audited like
 * `POST /v1/events`. A gateway that cannot reach NATS still starts (the route still works).
 */
async function natsEvents(
  config: Config,
  scopes: TenantScopes,
  audit: AuditLog,
  logger: Logger,
): Promise<NatsEvents | undefined> {
  const nats = config.natsEvents;
  if (!nats) return undefined;
  return startNatsEvents({
    ...nats,
    durable: `weft-gateway-${nats.stream}`,
    deliver: async (event) => {
      const { control } = await scopes.of(DEFAULT_TENANT);
      if (!control) throw new Error('run control is not available');
      const delivered = await control.deliver(event);
      await audit.record(eventDeliveryEntry(`nats:${nats.subject}`, event));
      return delivered;
    },
    logger,
  }).catch((err: unknown) => {
    logger.error({ err }, 'could not consume events from NATS; POST /v1/events still works');
    return undefined;
  });
}

function listen(app: express.Express, config: Config): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
}

export async function startGateway(
  config: Config,
  logger: Logger = createLogger('gateway'),
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const store = await openDefinitionStore(config.databaseUrl);
  const temporal = temporalClients(config, options);
  const listing = new RunListing(config.temporalAddress, temporal.dataConverter, config.temporalTls);
  const outliving = new OutlivingWork();
  const metrics = createGatewayMetrics({
    runCounts: () => runCounts(temporal.client, new TenantDefinitions(store, DEFAULT_TENANT)),
    quotaLimits: async () => quotaLimits(config.quotas, await store.access.listTenants()),
  });
  const scopes = tenantScopes({ config, store, temporal, listing, outliving, metrics, logger });
  const auth = await gatewayAuth(config, store, logger);
  // Shared by every gateway pointing at it; without it each gateway remembers in memory.
  const nonces = config.webhookNonceRedisUrl ? await RedisReplayGuard.connect(config.webhookNonceRedisUrl) : undefined;
  const audit = new AuditLog(store, logger);
  const app = gatewayApp({ config, temporal, nonces, store, scopes, auth, metrics, logger, audit });
  const events = await natsEvents(config, scopes, audit, logger);
  const server = await listen(app, config);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${reachableHost(config.host)}:${port}`,
    app,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await events?.close();
      await nonces?.close();
      // Bounded: each such call has its own deadline, plus one retry backoff of the SDK.
      await outliving.settled(CLOSE_WAIT_MS);
      await temporal.connection.close();
      await listing.close();
      await store.close();
    },
  };
}

/** The series of `weft_quota_limit`: the defaults as tenant `*`, then each tenant with quotas of its own. */
function quotaLimits(defaults: Quotas, tenants: TenantRecord[]) {
  const rows = (tenant: string, quotas: Quotas) =>
    QUOTA_NAMES.map((quota) => ({ tenant, quota, value: quotas[quota] }));
  return [
    ...rows('*', defaults),
    ...tenants.filter((t) => t.quotas).flatMap((t) => rows(t.id, effectiveQuotas(defaults, t.quotas))),
  ];
}
