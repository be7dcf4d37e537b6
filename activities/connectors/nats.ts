/**
 * The built-in `nats` connector, on one NATS connection per worker (`WEFT_NATS_URL`).
 * - `publish` `{ subject, data, headers?, jetstream?, msg_id? }` → `{ published: true }`, or
 *   with `jetstream: true` the stream's acknowledgement `{ published, stream, seq, duplicate }`
 * - `request` `{ subject, data, headers?, timeout? }` → the reply's data, JSON-parsed when it
 *   is JSON, else text
 *
 * `data` that is a string is sent as is; anything else is sent as JSON.
 */
import {
  RequestError,
  connect,
  headers as natsHeaders,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { parseDuration } from '../../interpreter/duration.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from '../errors.js';
import { describeTarget, pinnedHost } from '../egress.js';
import { checkResponseSize, defineAction, defineConnector, type ConnectorEnv } from './connector.js';

export const DEFAULT_NATS_URL = '127.0.0.1:4222';
const DEFAULT_TIMEOUT_MS = 5_000;

const Duration = z
  .union([z.number(), z.string()])
  .refine((v) => parseDuration(v) !== undefined, 'expected a duration such as "5s"');
const Subject = z.string().regex(/^[^\s]+$/, 'expected a NATS subject without spaces');
const Headers = z.record(z.string(), z.string());

function encode(data: unknown): string {
  if (data === undefined) return '';
  return typeof data === 'string' ? data : JSON.stringify(data);
}

function decode(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toHeaders(values: Record<string, string> | undefined): MsgHdrs | undefined {
  if (!values || Object.keys(values).length === 0) return undefined;
  const h = natsHeaders();
  for (const [key, value] of Object.entries(values)) h.set(key, value);
  return h;
}

/** A request nobody answered, or a JetStream publish no stream took (the cause of its error). */
function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof RequestError && e.isNoResponders()) return true;
  }
  return false;
}

function toFailure(err: unknown, what: string, timeoutMs: number) {
  if (err instanceof ApplicationFailure) return err;
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'TimeoutError') return retryableFailure(ErrorTypes.Timeout, `${what}: no answer within ${timeoutMs} ms`);
  if (isNoResponders(err)) return retryableFailure(ErrorTypes.NoResponders, `${what}: nobody is listening`);
  if (name === 'InvalidSubjectError') return nonRetryableFailure(ErrorTypes.InvalidParams, `${what}: ${message}`);
  if (name === 'JetStreamApiError' || name === 'PermissionViolationError') {
    return nonRetryableFailure(ErrorTypes.NatsError, `${what}: ${message}`);
  }
  // Closed, draining or reconnecting connections: the next attempt gets a healthy one.
  return retryableFailure(ErrorTypes.ConnectionError, `${what}: ${message}`);
}

/** The servers of `WEFT_NATS_URL` (`host:port` or `nats://host:port`, comma-separated). */
function natsServers(env: ConnectorEnv): Array<{ url: URL; host: string; port: number }> {
  return (env.WEFT_NATS_URL ?? DEFAULT_NATS_URL)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((server) => {
      try {
        const url = new URL(/^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`);
        if (url.hostname) return { url, host: url.hostname, port: Number(url.port || 4222) };
      } catch {
        // reported below
      }
      throw nonRetryableFailure(ErrorTypes.NotConfigured, `nats: "${server}" in WEFT_NATS_URL is not host:port`);
    });
}

export const natsConnector = defineConnector<NatsConnection>({
  service_type: 'nats',
  targets: (env) => natsServers(env).map(({ host, port }) => ({ host, port })),
  describe: (env) =>
    natsServers(env)
      .map(({ host, port }) => describeTarget(host, port))
      .join(','),
  connect: (env, pinned) =>
    connect({
      // The checked addresses (names only with TLS, for the certificate check).
      servers: natsServers(env).map(({ url, host, port }, i) => {
        const checked = pinned[i];
        const credentials = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
        const address = checked && url.protocol === 'nats:' ? pinnedHost(checked) : host;
        return `${url.protocol}//${credentials}${describeTarget(address.replace(/^\[|\]$/g, ''), port)}`;
      }),
      name: 'weft-worker',
      timeout: 5_000,
      maxReconnectAttempts: -1,
      // Servers a cluster announces were never checked by the egress policy: not used.
      ignoreClusterUpdates: true,
    }),
  disconnect: (nc) => nc.drain(),
  actions: {
    publish: defineAction({
      params: z.strictObject({
        subject: Subject,
        data: z.unknown().optional(),
        headers: Headers.optional(),
        /** Publish through JetStream and wait for the stream's acknowledgement. */
        jetstream: z.boolean().default(false),
        /** JetStream de-duplication id: a retried publish with the same id is stored once. */
        msg_id: z.string().min(1).optional(),
        timeout: Duration.optional(),
      }),
      async execute(nc, params) {
        const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : (parseDuration(params.timeout) as number);
        const what = `publish to "${params.subject}"`;
        const headers = toHeaders(params.headers);
        try {
          if (!params.jetstream) {
            nc.publish(params.subject, encode(params.data), headers ? { headers } : undefined);
            // The publish is buffered; flushing confirms the server has it before we say so.
            await nc.flush();
            return { published: true };
          }
          const ack = await jetstream(nc).publish(params.subject, encode(params.data), {
            timeout: timeoutMs,
            ...(headers ? { headers } : {}),
            ...(params.msg_id ? { msgID: params.msg_id } : {}),
          });
          return { published: true, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
        } catch (err) {
          throw toFailure(err, what, timeoutMs);
        }
      },
    }),
    request: defineAction({
      params: z.strictObject({
        subject: Subject,
        data: z.unknown().optional(),
        headers: Headers.optional(),
        timeout: Duration.optional(),
      }),
      async execute(nc, params, ctx) {
        const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : (parseDuration(params.timeout) as number);
        const headers = toHeaders(params.headers);
        try {
          const reply = await nc.request(params.subject, encode(params.data), {
            timeout: timeoutMs,
            ...(headers ? { headers } : {}),
          });
          if (reply.data.byteLength > ctx.maxResponseBytes) {
            checkResponseSize(reply.string(), ctx.maxResponseBytes, `request to "${params.subject}"`);
          }
          return decode(reply.string());
        } catch (err) {
          throw toFailure(err, `request to "${params.subject}"`, timeoutMs);
        }
      },
    }),
  },
});
