/**
 * Activities: the only place side effects happen. Built by `createActivities(deps)` so the
 * worker injects connectors (and tests inject their own) instead of activities reaching for
 * globals.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type PayloadCodec } from '@temporalio/common';
import type { ConnectorCall } from '../interpreter/commands.js';
import type { AiRequest, AiResult } from './ai-types.js';
import { createAiActivity, type AiEndpoint } from './ai.js';
import { aiConfigFromEnv, type AiConfig } from './ai-config.js';
import { boundFailure, ErrorTypes, nonRetryableFailure, withAttempt } from './errors.js';
import { ConnectorRegistry, connectionKey, type ConnectionScope } from './connectors/registry.js';
import {
  aiEndpointOf,
  connectionEnv,
  connectionSecretValues,
  noConnections,
  type ConnectionSource,
  type ResolvedConnection,
} from './connections.js';
import { createMask, valuesAt, type Mask } from './mask.js';
import { checkOutputSize, maxNodeOutputBytesFromEnv } from './output-limit.js';
import { resultCacheFromEnv, type CachedCall, type ResultCache } from './result-cache.js';
import { tenantOfWorkflowId } from '../src/shared/tenants.js';
import { createSecretLookup, resolveSecrets, secretSourcesFromEnv, type SecretSources } from './secrets.js';
import { whileBeating } from './heartbeat.js';
import { processMemoryBudget, withMemory, type MemoryBudget } from './memory-budget.js';

export interface ActivityDeps {
  registry?: ConnectorRegistry;
  /** Where `secret:NAME` references are looked up; defaults to `process.env` and `WEFT_SECRETS_FILE`. */
  secrets?: SecretSources;
  /** The model endpoint, aliases and prices of `runAi`; defaults to the environment. */
  ai?: AiConfig;
  /** Where `cache: { ttl }` results live; defaults to Redis (REDIS_URL) or SQLite in the data dir. */
  cache?: ResultCache;
  /** The largest output a node's activity may return, in bytes of JSON; defaults to `WEFT_MAX_NODE_OUTPUT_BYTES` or 256 KiB. */
  maxOutputBytes?: number;
  /** The payload codec (`WEFT_CODEC_KEYS`); when set, the default result cache encrypts its entries with it. */
  codec?: PayloadCodec;
  /** The tenants' named connections (`"connection"` of a task); without it every one is not found. */
  connections?: ConnectionSource;
  /** What calls with `resource_limits.memory_mb` reserve against; default the process's budget of half the host's memory. */
  memory?: MemoryBudget;
}

/**
 * The named connection a call asked for, resolved for the run's tenant: its pool and settings.
 * Not found (another tenant's names are not this tenant's) and of another connector both fail
 * for good, naming the connection, never its settings.
 */
async function viaConnection(
  source: ConnectionSource,
  registry: ConnectorRegistry,
  tenant: string,
  name: string,
  connector: string,
): Promise<{ scope: ConnectionScope; secrets: string[]; connection: ResolvedConnection }> {
  const found = await source.resolve(tenant, name);
  if (!found) {
    await registry.retire(tenant, name);
    throw nonRetryableFailure(
      ErrorTypes.ConnectionNotFound,
      `connection "${name}" not found: the run's tenant has no connection of that name (was it deleted?)`,
    );
  }
  if (found.connector !== connector) {
    throw nonRetryableFailure(
      ErrorTypes.ConnectionNotFound,
      `connection "${name}" is a ${found.connector} connection, not one of connector "${connector}"`,
    );
  }
  const key = connectionKey(connector, tenant, name, found.version);
  // A rotated connection's older pools are closed once its new version is used.
  await registry.retire(tenant, name, key);
  return {
    scope: { name, key, env: connectionEnv(found, registry.settings()) },
    secrets: connectionSecretValues(found),
    connection: found,
  };
}

/** What `runConnector` returns: the action's output, and which attempt produced it. */
export interface ConnectorResult {
  output: unknown;
  attempt: number;
  /** The output came from the result cache; the connector was not called. */
  cached?: boolean;
}

export function createActivities(deps: ActivityDeps = {}) {
  const registry = deps.registry ?? new ConnectorRegistry();
  const lookup = createSecretLookup(deps.secrets ?? secretSourcesFromEnv());
  const cache = deps.cache ?? resultCacheFromEnv(process.env, deps.codec);
  const maxOutputBytes = deps.maxOutputBytes ?? maxNodeOutputBytesFromEnv();
  const runAi = createAiActivity(deps.ai ?? aiConfigFromEnv());
  const connections = deps.connections ?? noConnections;
  const memory = deps.memory ?? processMemoryBudget();
  return {
    /**
     * Runs one connector action with already-rendered params. `secret:NAME` values are resolved
     * here, after Temporal recorded the params, and masked in everything handed back.
     */
    async runConnector(call: ConnectorCall): Promise<ConnectorResult> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const name = `${call.connector}.${call.action}`;
      let mask: Mask = createMask([]);
      let failureMask: Mask = createMask(valuesAt(call.params, call.mask));
      try {
        const connector = registry.get(call.connector);
        const action = connector?.actions[call.action];
        if (!connector || !action) {
          throw nonRetryableFailure(ErrorTypes.UnknownConnector, `no connector action "${name}"`);
        }
        // The run's tenant, from its workflow id (which the gateway sets): never from the definition.
        const tenant = tenantOfWorkflowId(ctx.info.workflowExecution?.workflowId ?? '');
        const via =
          call.connection === undefined
            ? undefined
            : await viaConnection(connections, registry, tenant, call.connection, call.connector);
        const resolved = await resolveSecrets(call.params, (secret) => lookup(secret, tenant));
        const secrets = [...resolved.secrets, ...(via?.secrets ?? [])];
        mask = createMask(secrets);
        // Params the workflow rendered from secret-derived values: masked in failures (not outputs).
        failureMask = createMask([...secrets, ...valuesAt(call.params, call.mask)]);
        const parsed = action.params.safeParse(resolved.value);
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
          throw nonRetryableFailure(ErrorTypes.InvalidParams, `invalid params for ${name}: ${problems}`);
        }
        // A cached answer is the connection's (at its version): another connection, or a rotated one, misses.
        const key: CachedCall | undefined = call.cache
          ? {
              tenant,
              connector: via ? via.scope.key : call.connector,
              action: call.action,
              params: parsed.data,
            }
          : undefined;
        const hit = key === undefined ? undefined : await cache.get(key);
        if (hit) {
          // Cached under a larger limit (or by another worker): refused like a fresh answer would be.
          checkOutputSize(hit.value, maxOutputBytes, `${name} (from the result cache)`);
          return { output: hit.value, attempt, cached: true };
        }
        // Heartbeats while the call runs, so a cancellation (a skip of the running node) reaches it.
        // With memory_mb the connector starts only once that much of the worker's budget is free.
        let details: unknown;
        const output = mask.value(
          await withMemory(ctx, memory, call.memory_mb, () =>
            whileBeating(
              ctx,
              () => details,
              () =>
                registry.call(
                  connector,
                  tenant,
                  (connection) =>
                    action.execute(connection, parsed.data, {
                      signal: ctx.cancellationSignal,
                      heartbeat: (next) => {
                        details = mask.value(next);
                        ctx.heartbeat(details);
                      },
                      egress: registry.egress(tenant),
                      maxResponseBytes: registry.maxResponseBytes(call.max_response_bytes),
                    }),
                  via?.scope,
                ),
            ),
          ),
        );
        // Before caching, so an oversized output is never stored for the next call to trip on.
        checkOutputSize(output, maxOutputBytes, name);
        if (key !== undefined && call.cache) await cache.set(key, output, call.cache.ttl_ms);
        return { output, attempt };
      } catch (err) {
        // A cancelled call must surface as cancelled, not as a failure Temporal would retry.
        if (ctx.cancellationSignal.aborted) throw err;
        // Masked first, then cut: a cut never leaves part of a secret behind.
        throw boundFailure(failureMask.failure(withAttempt(err, attempt)));
      }
    },

    /** Runs one AI step: a chat completion whose answer is mapped and validated. */
    async runAi(request: AiRequest): Promise<AiResult> {
      const ctx = Context.current();
      let result: AiResult;
      // The connection's key is masked in every failure (it never reaches a result).
      let mask: Mask = createMask([]);
      try {
        let endpoint: AiEndpoint | undefined;
        if (request.connection !== undefined) {
          // The run's tenant, from its workflow id (which the gateway sets): never from the definition.
          const tenant = tenantOfWorkflowId(ctx.info.workflowExecution?.workflowId ?? '');
          const via = await viaConnection(connections, registry, tenant, request.connection, 'ai').catch(
            (err: unknown) => {
              throw withAttempt(err, ctx.info.attempt);
            },
          );
          mask = createMask(via.secrets);
          endpoint = {
            name: request.connection,
            key: via.scope.key,
            ...aiEndpointOf(via.connection),
            egress: registry.egress(tenant),
          };
        }
        result = await withMemory(ctx, memory, request.memory_mb, () => runAi(request, endpoint)).catch(
          (err: unknown) => {
            // runAi's own failures carry their attempt; the budget's refusal gets it here.
            throw err instanceof ApplicationFailure && err.type === ErrorTypes.MemoryBudgetExceeded
              ? withAttempt(err, ctx.info.attempt)
              : err;
          },
        );
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        throw boundFailure(mask.failure(err));
      }
      try {
        // The call is paid for: the details carry usage and cost so the run still counts them.
        checkOutputSize(result.output, maxOutputBytes, `node "${request.node}" (model "${result.model}")`, {
          node: request.node,
          usage: result.usage,
          cost_usd: result.cost_usd,
        });
      } catch (err) {
        throw boundFailure(withAttempt(err, result.attempt));
      }
      return result;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { AiRequest, AiResult };
export { ConnectorRegistry };
