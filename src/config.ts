/**
 * Configuration from the environment, validated once at start-up so a typo fails loudly.
 * The variables and defaults are those of the HTTP API contract, plus a few of our own
 * (documented in the README).
 */
import { jwtOptionsFromEnv, type JwtOptions } from './auth/jwt.js';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCodecKeys, type CodecKey } from './codec/aes-gcm-codec.js';
import { connectionKeyBytes } from './connections/connection-crypto.js';
import { temporalTlsFromEnv, type TLSConfig } from './temporal/tls.js';
import { quotaDefaultsFromEnv, type Quotas } from '../interpreter/quotas.js';
import { parseConnectorQueues, parseWorkerQueues, type ConnectorQueues } from './shared/connector-queues.js';

/** 2 MiB, what express's `'2mb'` meant before the limit became configurable. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

/** A DNS host name (`localhost`, `gateway.internal`). */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const RATE_LIMIT_PATTERN = /^(?:off|([1-9]\d*)\/([1-9]\d*)?(s|m|h))$/;
const WINDOW_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** A token bucket per caller: `capacity` requests at once, refilled at `refillPerSecond`. */
export interface RateLimitSettings {
  capacity: number;
  refillPerSecond: number;
}

/** `"60/1m"`: bursts of 60, refilled over a minute; `"off"` (or unset): no limit. */
function rateLimit(text: string | undefined): RateLimitSettings | undefined {
  const match = text === undefined ? null : RATE_LIMIT_PATTERN.exec(text);
  if (!match?.[1] || !match[3]) return undefined;
  const requests = Number(match[1]);
  const seconds = Number(match[2] ?? 1) * WINDOW_SECONDS[match[3] as keyof typeof WINDOW_SECONDS];
  return { capacity: requests, refillPerSecond: requests / seconds };
}

/** The default targets of the worker's resource-based tuner (the SDK's examples use these). */
export const DEFAULT_WORKER_TARGETS = { memory: 0.8, cpu: 0.9 } as const;

/** A resource target of the worker's tuner: the fraction of the host's memory or CPU it aims to use. */
function targetFraction(what: string) {
  const error = `expected the fraction of the host's ${what} the worker aims to use, a number greater than 0 and at most 1 (e.g. 0.8)`;
  return z.coerce.number({ error }).gt(0, { error }).max(1, { error }).optional();
}

/** An optional whole number of a variable, each bound with its own message. */
function wholeNumber(expected: string, [min, tooSmall]: [number, string], max?: [number, string]) {
  const error = `expected ${expected}`;
  const atLeast = z.coerce.number({ error }).int({ error }).min(min, { error: tooSmall });
  return (max ? atLeast.max(max[0], { error: max[1] }) : atLeast).optional();
}

/** A parser that throws, as a zod transform: its message becomes the variable's issue. */
function issueOnThrow<T>(parse: (value: string | undefined) => T) {
  return (value: string | undefined, ctx: z.RefinementCtx): T => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  };
}

const Env = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('weft'),
  TEMPORAL_UI_URL: z.url().optional(),
  // The frontend's port of the Temporal server `npm start` / `npm run cluster` start (the cluster's
  // other services are laid out from it); below 64000 so the ports derived from it fit.
  TEMPORAL_PORT: z.coerce.number().int().min(1024).max(64000).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1024).max(65535).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  WEFT_GATEWAY_HOST: z
    .string()
    .refine((value) => isIP(value) !== 0 || HOSTNAME.test(value), {
      error: 'expected the address the gateway listens on: an IP address such as 127.0.0.1 or 0.0.0.0, or a host name',
    })
    .default('127.0.0.1'),
  WEFT_WEBHOOK_BODY_ONLY_SIGNATURES: z
    .enum(['refuse', 'accept'], {
      error:
        'expected "accept" (the HTTP contract\'s signature of the body alone is accepted, once per window) or "refuse" (signatures must cover X-Signature-Timestamp)',
    })
    .default('accept'),
  WEFT_WEBHOOK_NONCE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, {
      error: 'expected a redis:// or rediss:// URL (where every gateway remembers accepted webhook signatures)',
    })
    .optional(),
  DATABASE_URL: z.string().min(1).optional(),
  WEFT_DATA_DIR: z.string().min(1).default('data'),
  WEFT_NATS_URL: z.string().min(1).default('127.0.0.1:4222'),
  WEFT_EVENTS_NATS_SUBJECT: z.string().min(1).optional(),
  WEFT_EVENTS_NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('WEFT_EVENTS'),
  WEFT_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WEFT_WORKER_SDK_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WEFT_WORKER_WORKFLOW_TASKS: wholeNumber(
    'a whole number of workflow tasks (2 – 200)',
    [2, 'expected at least 2 workflow tasks (the SDK needs 2 with a workflow cache)'],
    [200, 'expected at most 200 workflow tasks'],
  ),
  WEFT_WORKER_MEMORY_TARGET: targetFraction('memory'),
  WEFT_WORKER_CPU_TARGET: targetFraction('CPU'),
  WEFT_WORKER_ACTIVITY_SLOTS_MIN: wholeNumber(
    'a whole number of activity slots (1 – 2000)',
    [1, 'expected at least 1 activity slot'],
    [2000, 'expected at most 2000 activity slots (the most the tuner hands out)'],
  ),
  WEFT_WORKER_MEMORY_MB: wholeNumber(
    'a whole number of MB (the memory budget that resource_limits.memory_mb reserves from)',
    [1, 'expected at least 1 MB'],
  ),
  WEFT_CONNECTOR_QUEUES: z.string().optional().transform(issueOnThrow(parseConnectorQueues)),
  WEFT_WORKER_QUEUES: z
    .string()
    .optional()
    .transform(
      issueOnThrow((value) => (value === undefined || value.trim() === '' ? undefined : parseWorkerQueues(value))),
    ),
  WEFT_CONNECTION_KEY: z
    .string()
    .optional()
    .refine((value) => value === undefined || connectionKeyBytes(value) !== undefined, {
      error: 'expected the base64 of exactly 32 random bytes (openssl rand -base64 32)',
    }),
  WEFT_CODEC_KEYS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      try {
        return parseCodecKeys(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  WEFT_MAX_BODY_BYTES: z.coerce.number().int().min(1).default(DEFAULT_MAX_BODY_BYTES),
  WEFT_RATE_LIMIT: z
    .string()
    .regex(RATE_LIMIT_PATTERN, 'expected "<requests>/<window>" such as "60/1m", "10/s" or "5/10s", or "off"')
    .optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  WEFT_AUTH: z
    .enum(['auto', 'required'], { error: 'expected "auto" (local-development mode until the first key) or "required"' })
    .default('auto'),
  WEFT_FOUR_EYES: z.enum(['true', 'false'], { error: 'expected "true" or "false"' }).default('false'),
});

export interface Config {
  temporalAddress: string;
  /** `TEMPORAL_TLS*`: TLS (mTLS with a client certificate) to the Temporal frontend; absent: plaintext. */
  temporalTls?: TLSConfig;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  /** `TEMPORAL_PORT`: the frontend port of the server `npm start` or `npm run cluster` starts (7233). */
  temporalPort: number;
  /** `TEMPORAL_UI_PORT`: the Web UI's port there (`temporalPort + 1000`, so 8233). */
  temporalUiPort: number;
  port: number;
  /**
   * `WEFT_GATEWAY_HOST`: the address the gateway listens on; `127.0.0.1` unless configured (in a
   * container, `0.0.0.0`).
   */
  host: string;
  /** `WEFT_WEBHOOK_BODY_ONLY_SIGNATURES` (default `accept`, as the HTTP contract signs): webhook signatures of the body alone are accepted. */
  webhookBodyOnlySignatures: boolean;
  /** `WEFT_WEBHOOK_NONCE_REDIS_URL`: accepted webhook signatures are remembered in this Redis, shared by every gateway (default: each gateway's memory). */
  webhookNonceRedisUrl?: string;
  databaseUrl: string;
  dataDir: string;
  logLevel: string;
  /** When set, events published on this NATS subject (JetStream) are delivered like POST /v1/events. */
  /** When set, the worker serves Prometheus metrics at `GET /metrics` on this port. */
  workerMetricsPort?: number;
  /**
   * When set, the worker's Temporal SDK serves its own Prometheus metrics (`temporal_*`: task
   * schedule-to-start latencies, slots, polls) at `GET /metrics` on this port (`WEFT_WORKER_SDK_METRICS_PORT`).
   */
  workerSdkMetricsPort?: number;
  /** Workflow tasks a worker works on at once (`WEFT_WORKER_WORKFLOW_TASKS`). */
  workerWorkflowTasks?: number;
  /**
   * `WEFT_WORKER_MEMORY_TARGET` / `WEFT_WORKER_CPU_TARGET` (default 0.8 / 0.9): the fractions of the
   * host's memory and CPU the worker's resource-based activity slots aim to keep under.
   */
  workerTargets: { memory: number; cpu: number };
  /** `WEFT_WORKER_ACTIVITY_SLOTS_MIN`: activity slots the tuner hands out whatever the host's load; absent: the worker's default (100). */
  workerActivitySlotsMin?: number;
  /** `WEFT_WORKER_MEMORY_MB`: the worker's memory budget that `resource_limits.memory_mb` reserves from; absent: half the host's memory. */
  workerMemoryMb?: number;
  natsEvents?: { servers: string; subject: string; stream: string };
  /**
   * `WEFT_CONNECTOR_QUEUES`: the task queue each routed connector's (or `ai`'s) activities are
   * scheduled on, passed to every run the gateway starts on its own placement; absent: none routed.
   */
  connectorQueues?: ConnectorQueues;
  /** `WEFT_WORKER_QUEUES`: the task queues `npm run worker` serves (absent: the main queue and every routed one). */
  workerQueues?: string[];
  /** `WEFT_CODEC_KEYS`: when set, payloads are encrypted with the first key (every key decrypts). */
  codecKeys?: CodecKey[];
  /** `WEFT_CONNECTION_KEY`: the AES-256-GCM key of named connections' secret settings; absent: none can be stored. */
  connectionKey?: Buffer;
  /** The largest request body the gateway reads, in bytes (`WEFT_MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /** Per-caller rate limit of the gateway (`WEFT_RATE_LIMIT`); absent: none. */
  rateLimit?: RateLimitSettings;
  /** `WEFT_SECRETS_FILE`: a JSON file of secrets (tenants' as `"<tenant>/<NAME>"`). */
  secretsFile?: string;
  /** `WEFT_AUTH=required`: credentials are required even before the first API key exists. */
  authRequired: boolean;
  /** `WEFT_FOUR_EYES`: four-eyes publishing for tenants without a setting of their own. */
  fourEyes: boolean;
  /** JWT verification (`WEFT_JWKS_URL` and friends); absent: API keys only. */
  jwt?: JwtOptions;
  /** `WEFT_QUOTA_*`: the quotas of tenants without values of their own. */
  quotas: Quotas;
}

function jwtConfig(env: NodeJS.ProcessEnv): { jwt?: JwtOptions } {
  const jwt = jwtOptionsFromEnv(env);
  return jwt ? { jwt } : {};
}

/** Reads the configuration; throws with every bad variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const limit = rateLimit(e.WEFT_RATE_LIMIT);
  const temporalTls = temporalTlsFromEnv(env);
  const quotas = quotaDefaultsFromEnv(env);
  return {
    temporalAddress: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_PORT}`,
    ...(temporalTls ? { temporalTls } : {}),
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    uiUrl: (e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT ?? e.TEMPORAL_PORT + 1000}`).replace(/\/$/, ''),
    temporalPort: e.TEMPORAL_PORT,
    temporalUiPort: e.TEMPORAL_UI_PORT ?? e.TEMPORAL_PORT + 1000,
    port: e.PORT,
    host: e.WEFT_GATEWAY_HOST,
    webhookBodyOnlySignatures: e.WEFT_WEBHOOK_BODY_ONLY_SIGNATURES === 'accept',
    ...(e.WEFT_WEBHOOK_NONCE_REDIS_URL === undefined ? {} : { webhookNonceRedisUrl: e.WEFT_WEBHOOK_NONCE_REDIS_URL }),
    databaseUrl: e.DATABASE_URL ?? `sqlite:${e.WEFT_DATA_DIR}/definitions.db`,
    dataDir: e.WEFT_DATA_DIR,
    logLevel: e.LOG_LEVEL,
    ...(e.WEFT_WORKER_METRICS_PORT === undefined ? {} : { workerMetricsPort: e.WEFT_WORKER_METRICS_PORT }),
    ...(e.WEFT_WORKER_SDK_METRICS_PORT === undefined ? {} : { workerSdkMetricsPort: e.WEFT_WORKER_SDK_METRICS_PORT }),
    ...(e.WEFT_WORKER_WORKFLOW_TASKS === undefined ? {} : { workerWorkflowTasks: e.WEFT_WORKER_WORKFLOW_TASKS }),
    workerTargets: {
      memory: e.WEFT_WORKER_MEMORY_TARGET ?? DEFAULT_WORKER_TARGETS.memory,
      cpu: e.WEFT_WORKER_CPU_TARGET ?? DEFAULT_WORKER_TARGETS.cpu,
    },
    ...(e.WEFT_WORKER_ACTIVITY_SLOTS_MIN === undefined
      ? {}
      : { workerActivitySlotsMin: e.WEFT_WORKER_ACTIVITY_SLOTS_MIN }),
    ...(e.WEFT_WORKER_MEMORY_MB === undefined ? {} : { workerMemoryMb: e.WEFT_WORKER_MEMORY_MB }),
    ...(e.WEFT_CODEC_KEYS === undefined ? {} : { codecKeys: e.WEFT_CODEC_KEYS }),
    ...(e.WEFT_CONNECTOR_QUEUES === undefined ? {} : { connectorQueues: e.WEFT_CONNECTOR_QUEUES }),
    ...(e.WEFT_WORKER_QUEUES === undefined ? {} : { workerQueues: e.WEFT_WORKER_QUEUES }),
    ...(e.WEFT_CONNECTION_KEY === undefined ? {} : { connectionKey: connectionKeyBytes(e.WEFT_CONNECTION_KEY) }),
    maxBodyBytes: e.WEFT_MAX_BODY_BYTES,
    ...(limit ? { rateLimit: limit } : {}),
    authRequired: e.WEFT_AUTH === 'required',
    ...(env.WEFT_SECRETS_FILE ? { secretsFile: env.WEFT_SECRETS_FILE } : {}),
    fourEyes: e.WEFT_FOUR_EYES === 'true',
    quotas,
    ...jwtConfig(env),
    ...(e.WEFT_EVENTS_NATS_SUBJECT
      ? {
          natsEvents: {
            servers: e.WEFT_NATS_URL,
            subject: e.WEFT_EVENTS_NATS_SUBJECT,
            stream: e.WEFT_EVENTS_NATS_STREAM,
          },
        }
      : {}),
  };
}
