/**
 * Configuration from the environment, validated once at start-up so a typo fails loudly.
 * The variables and defaults are those of the HTTP API contract, plus a few of our own
 * (documented in the README).
 */
import { z } from 'zod';

const Env = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('weft'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_URL: z.string().min(1).optional(),
  WEFT_DATA_DIR: z.string().min(1).default('data'),
  WEFT_NATS_URL: z.string().min(1).default('127.0.0.1:4222'),
  WEFT_EVENTS_NATS_SUBJECT: z.string().min(1).optional(),
  WEFT_EVENTS_NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('WEFT_EVENTS'),
  WEFT_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export interface Config {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  logLevel: string;
  /** When set, events published on this NATS subject (JetStream) are delivered like POST /v1/events. */
  /** When set, the worker serves Prometheus metrics at `GET /metrics` on this port. */
  workerMetricsPort?: number;
  natsEvents?: { servers: string; subject: string; stream: string };
}

/** Reads the configuration; throws with every bad variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    temporalAddress: e.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? `sqlite:${e.WEFT_DATA_DIR}/definitions.db`,
    dataDir: e.WEFT_DATA_DIR,
    logLevel: e.LOG_LEVEL,
    ...(e.WEFT_WORKER_METRICS_PORT === undefined ? {} : { workerMetricsPort: e.WEFT_WORKER_METRICS_PORT }),
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
