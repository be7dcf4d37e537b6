/**
 * The egress policy through a real Temporal worker and real local servers: definitions whose
 * connectors aim at the suite's own Temporal server (frontend and HTTP API), loopback, private
 * and link-local addresses, other spellings of them, and public-looking URLs that redirect
 * there, are refused with EgressDenied; an operator's allow entry lets exactly what it names
 * through. Also: the response cap stops reading (the server sees the connection closed).
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { createClient } from 'redis';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { startActivityWorker, type ActivityWorker } from '../support/activity-worker.js';
import { allowEgress, egressEntry } from '../support/egress.js';
import { startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { createLeastPrivilegeRole } from '../support/postgres.js';
import { temporalAddress } from '../support/temporal.js';
import type { CallOutcome } from '../support/test-workflows.js';
import { until, untilTrue } from '../support/poll.js';

const POSTGRES = process.env.WEFT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.WEFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS = process.env.WEFT_TEST_NATS_URL ?? '127.0.0.1:4222';

/** A local server no allow entry names: what every refused call would have reached. */
interface Hidden {
  port: number;
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function startHidden(): Promise<Hidden> {
  const requests: Hidden['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '/', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ secret: 'internal' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

let worker: ActivityWorker;
let hidden: Hidden;
let redirector: HttpTarget;
/** The suite's Temporal server: its frontend, and its HTTP API (found among the ports `npm test` protects). */
let frontend: { host: string; port: number };
let httpApi: { host: string; port: number };

async function findHttpApi(): Promise<{ host: string; port: number }> {
  for (const entry of (process.env.WEFT_EGRESS_PROTECT ?? '').split(',')) {
    const [host = '', port = ''] = entry.trim().split(':');
    const answer = await fetch(`http://${host}:${port}/api/v1/namespaces`).catch(() => undefined);
    if (answer?.status === 200) return { host, port: Number(port) };
  }
  throw new Error('npm test did not list the Temporal HTTP API in WEFT_EGRESS_PROTECT');
}

before(async () => {
  const [host = '', port = ''] = temporalAddress().split(':');
  frontend = { host, port: Number(port) };
  httpApi = await findHttpApi();
  hidden = await startHidden();
  redirector = await startHttpTarget({
    '/to-hidden': (_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${hidden.port}/secret` });
      res.end();
    },
    '/to-temporal': (_req, res) => {
      res.writeHead(307, { location: `http://${httpApi.host}:${httpApi.port}/api/v1/namespaces` });
      res.end();
    },
    '/loop': (_req, res) => {
      res.writeHead(302, { location: '/loop' });
      res.end();
    },
  });
  worker = await startActivityWorker();
});

after(async () => {
  await worker?.shutdown();
  await redirector?.close();
  await hidden?.close();
});

function request(params: Record<string, unknown>, tenant?: string, on = worker): Promise<CallOutcome> {
  return on.call('runConnector', { connector: 'http', action: 'request', params }, { maximumAttempts: 2 }, tenant);
}

function refusal(outcome: CallOutcome) {
  if (outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value).slice(0, 300)}`);
  assert.equal(outcome.error.type, 'EgressDenied', outcome.error.message);
  assert.equal(outcome.error.nonRetryable, true);
  assert.equal((outcome.error.details[0] as { attempt: number }).attempt, 1, 'never retried');
  return outcome.error;
}

function body(outcome: CallOutcome): any {
  if (!outcome.ok) throw new Error(`${outcome.error.type}: ${outcome.error.message}`);
  return (outcome.value as { output: { body: unknown } }).output.body;
}

/** Runs a one-task definition; resolves to its failure (or throws when it completed). */
async function runDefinition(url: string): Promise<ApplicationFailure> {
  const handle = await worker.start({
    id: 'egress-probe',
    nodes: [{ id: 'call', type: 'task', connector: 'http', action: 'request', inputs: { url } }],
  });
  const err = await handle.result().then(
    (r) => new Error(`the run completed: ${JSON.stringify(r).slice(0, 300)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  return err.cause;
}

describe('egress policy: http', () => {
  test("a definition aimed at Temporal's HTTP API is refused; an allow entry naming the port lets it through", async () => {
    const url = `http://${httpApi.host}:${httpApi.port}/api/v1/namespaces`;
    const failure = await runDefinition(url);
    assert.equal(failure.type, 'EgressDenied');
    assert.match(
      failure.message,
      new RegExp(`egress to ${httpApi.host.replace(/\./g, '\\.')}:${httpApi.port} refused`),
    );
    assert.match(failure.message, /WEFT_EGRESS_ALLOW=.*WEFT_EGRESS_ALLOW_DEFAULT=/);

    // Allowing the whole loopback address is not enough for a service weft itself uses...
    const revokeAddress = allowEgress('127.0.0.0/8');
    try {
      assert.match(refusal(await request({ url })).message, /WEFT_EGRESS_PROTECT|Temporal/);
    } finally {
      revokeAddress();
    }
    // ...only an entry naming its port is.
    const revokePort = allowEgress(`${httpApi.host}:${httpApi.port}`);
    try {
      const raw = body(await request({ url }));
      // Its content type is not JSON: the connector hands back the text.
      const answer = typeof raw === 'string' ? JSON.parse(raw) : raw;
      assert.ok(Array.isArray(answer.namespaces), `the real Temporal HTTP API answered: ${JSON.stringify(answer)}`);
    } finally {
      revokePort();
    }
  });

  test("a definition aimed at Temporal's gRPC frontend is refused, even with loopback allowed", async () => {
    const failure = await runDefinition(`http://${frontend.host}:${frontend.port}/`);
    assert.equal(failure.type, 'EgressDenied');
    const revoke = allowEgress('127.0.0.0/8');
    try {
      assert.match(
        refusal(await request({ url: `http://${frontend.host}:${frontend.port}/` })).message,
        /the Temporal frontend/,
      );
    } finally {
      revoke();
    }
  });

  test('the Temporal Web UI (TEMPORAL_UI_URL) is refused, even with loopback allowed', async () => {
    const ui = await startActivityWorker({
      registry: new ConnectorRegistry({
        env: { TEMPORAL_UI_URL: `http://localhost:${hidden.port}`, WEFT_EGRESS_ALLOW: '127.0.0.0/8' },
      }),
    });
    try {
      const error = refusal(await request({ url: `http://127.0.0.1:${hidden.port}/api/v1/namespaces` }, undefined, ui));
      assert.match(error.message, /the Temporal Web UI/);
      assert.equal(hidden.requests.length, 0);
    } finally {
      await ui.shutdown();
    }
  });

  test('loopback, localhost, private, CGNAT and link-local (cloud metadata) addresses are refused before connecting', async () => {
    for (const url of [
      `http://127.0.0.1:${hidden.port}/`,
      `http://127.1.2.3:${hidden.port}/`,
      `http://localhost:${hidden.port}/`,
      `http://[::1]:${hidden.port}/`,
      'http://10.255.255.1:81/',
      'http://172.16.0.1/',
      'http://192.168.0.1/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
    ]) {
      const error = refusal(await request({ url, timeout: '2s' }));
      assert.match(error.message, /refused: .*not a public address/, url);
    }
    assert.equal(hidden.requests.length, 0, 'nothing reached the hidden server');
  });

  test('other spellings of loopback are refused: IPv4-mapped IPv6, decimal, octal, hex', async () => {
    const spellings = [
      `http://[::ffff:127.0.0.1]:${hidden.port}/`,
      `http://[::ffff:7f00:1]:${hidden.port}/`,
      `http://2130706433:${hidden.port}/`,
      `http://0177.0.0.1:${hidden.port}/`,
      `http://0x7f.0.0.1:${hidden.port}/`,
      `http://127.1:${hidden.port}/`,
    ];
    for (const url of spellings) {
      assert.match(refusal(await request({ url })).message, /127\.0\.0\.1 is not a public address \(loopback\)/, url);
    }
    assert.equal(hidden.requests.length, 0);
    // Every spelling is the one address an allow entry names.
    const revoke = allowEgress(`127.0.0.1:${hidden.port}`);
    try {
      for (const url of spellings) assert.deepEqual(body(await request({ url })), { secret: 'internal' }, url);
    } finally {
      revoke();
    }
    assert.equal(hidden.requests.length, spellings.length);
    hidden.requests.length = 0;
  });

  test('an allowed URL that redirects to a refused address is refused at that hop, which is never contacted', async () => {
    const error = refusal(await request({ url: `${redirector.url}/to-hidden` }));
    assert.match(error.message, new RegExp(`egress to 127\\.0\\.0\\.1:${hidden.port} refused`));
    assert.equal(redirector.count('/to-hidden'), 1);
    assert.equal(hidden.requests.length, 0);

    const toTemporal = refusal(await request({ url: `${redirector.url}/to-temporal` }));
    assert.match(toTemporal.message, new RegExp(`:${httpApi.port} refused`));

    // Allowed, the hop is followed, without the credentials meant for the first origin.
    const revoke = allowEgress(`127.0.0.1:${hidden.port}`);
    try {
      const answer = body(
        await request({ url: `${redirector.url}/to-hidden`, headers: { authorization: 'Bearer x' } }),
      );
      assert.deepEqual(answer, { secret: 'internal' });
      assert.equal(hidden.requests.length, 1);
      assert.equal(hidden.requests[0]?.url, '/secret');
      assert.equal(hidden.requests[0]?.headers.authorization, undefined);
    } finally {
      revoke();
      hidden.requests.length = 0;
    }
  });

  test('the connection goes to the address that was checked, never to a second DNS answer (rebinding)', async () => {
    const revoke = allowEgress(`localhost:${hidden.port}`);
    const original = dns.lookup;
    let asked = 0;
    // A resolver that answers "localhost" with a private address from now on: what a rebinding
    // DNS server does between the check and the connect. The check itself already happened.
    const rebinding = ((host: string, options: unknown, callback: unknown) => {
      if (host !== 'localhost') return (original as (...a: unknown[]) => void)(host, options, callback);
      asked++;
      const cb = (typeof options === 'function' ? options : callback) as (...a: unknown[]) => void;
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
      return all ? cb(null, [{ address: '10.255.255.1', family: 4 }]) : cb(null, '10.255.255.1', 4);
    }) as typeof dns.lookup;
    try {
      dns.lookup = rebinding;
      const answer = body(await request({ url: `http://localhost:${hidden.port}/pinned`, timeout: '5s' }));
      assert.deepEqual(answer, { secret: 'internal' });
      assert.equal(hidden.requests.at(-1)?.url, '/pinned');
      assert.equal(asked, 0, 'the connection never resolved the name again');
    } finally {
      dns.lookup = original;
      revoke();
      hidden.requests.length = 0;
    }
  });

  test('redirects are bounded', async () => {
    const outcome = await request({ url: `${redirector.url}/loop` });
    assert.ok(!outcome.ok);
    assert.equal(outcome.error.type, 'HttpError');
    assert.match(outcome.error.message, /more than 10 redirects/);
    assert.equal(redirector.count('/loop'), 11);
  });

  test('WEFT_EGRESS_ALLOW_<TENANT> allows for that tenant only', async () => {
    const tenantWorker = await startActivityWorker({
      registry: new ConnectorRegistry({ env: { WEFT_EGRESS_ALLOW_ACME_CORP: `127.0.0.1:${hidden.port}` } }),
    });
    try {
      const url = `http://127.0.0.1:${hidden.port}/tenant`;
      assert.deepEqual(body(await request({ url }, 'acme-corp', tenantWorker)), { secret: 'internal' });
      assert.match(refusal(await request({ url }, 'globex', tenantWorker)).message, /WEFT_EGRESS_ALLOW_GLOBEX=/);
      refusal(await request({ url }, undefined, tenantWorker));
      assert.equal(hidden.requests.length, 1);
    } finally {
      await tenantWorker.shutdown();
      hidden.requests.length = 0;
    }
  });

  test('a URL allow entry lets exactly that path through', async () => {
    const revoke = allowEgress(`http://127.0.0.1:${hidden.port}/healthz`);
    try {
      assert.deepEqual(body(await request({ url: `http://127.0.0.1:${hidden.port}/healthz?x=1` })), {
        secret: 'internal',
      });
      for (const path of ['/v1/keys', '/healthz/../v1/keys', '/healthz/x', '/HEALTHZ', '/healthz%2F..%2Fv1']) {
        refusal(await request({ url: `http://127.0.0.1:${hidden.port}${path}` }));
      }
      assert.deepEqual(
        hidden.requests.map((r) => r.url),
        ['/healthz?x=1'],
      );
    } finally {
      revoke();
      hidden.requests.length = 0;
    }
  });
});

describe('egress policy: pooled connectors', () => {
  test('postgres, redis, nats and email pointed at refused addresses are refused', async () => {
    const smtp = await startHidden();
    const refusedWorker = await startActivityWorker({
      registry: new ConnectorRegistry({
        env: {
          WEFT_POSTGRES_URL: POSTGRES,
          WEFT_REDIS_URL: REDIS,
          WEFT_NATS_URL: NATS,
          WEFT_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
          WEFT_SMTP_FROM: 'weft@example.test',
        },
      }),
    });
    // Loopback allowed as a whole, but the "service" is the Temporal frontend: still refused.
    const temporalWorker = await startActivityWorker({
      registry: new ConnectorRegistry({
        env: { WEFT_REDIS_URL: `redis://${temporalAddress()}`, WEFT_EGRESS_ALLOW: '127.0.0.0/8' },
      }),
    });
    const calls = [
      { connector: 'postgres', action: 'query', params: { sql: 'SELECT 1' }, target: egressEntry(POSTGRES) },
      { connector: 'redis', action: 'get', params: { key: 'k' }, target: egressEntry(REDIS) },
      {
        connector: 'nats',
        action: 'publish',
        params: { subject: 'weft.egress', data: 'x' },
        target: egressEntry(NATS),
      },
      {
        connector: 'email',
        action: 'send',
        params: { to: 'a@example.test', subject: 's', text: 't' },
        target: `127.0.0.1:${smtp.port}`,
      },
    ];
    try {
      for (const { target, ...call } of calls) {
        const outcome = await refusedWorker.call('runConnector', call, { maximumAttempts: 2 });
        const error = refusal(outcome);
        assert.match(error.message, new RegExp(`egress to ${target.replace(/\./g, '\\.')} refused`), call.connector);
      }
      assert.equal(smtp.requests.length, 0);
      const outcome = await temporalWorker.call(
        'runConnector',
        { connector: 'redis', action: 'get', params: { key: 'k' } },
        { maximumAttempts: 1 },
      );
      assert.match(refusal(outcome).message, /the Temporal frontend/);
    } finally {
      await refusedWorker.shutdown();
      await temporalWorker.shutdown();
      await smtp.close();
    }
  });
});

describe('egress settings', () => {
  test('bad entries stop the worker at start-up, naming the variable and the entry', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ WEFT_EGRESS_ALLOW: '10.0.0.0/33' }, /WEFT_EGRESS_ALLOW: entry "10\.0\.0\.0\/33"/],
      [{ WEFT_EGRESS_ALLOW: 'ok.example,0x7f.1' }, /WEFT_EGRESS_ALLOW: entry "0x7f\.1"/],
      [{ WEFT_EGRESS_ALLOW: '10.0.0.1:0' }, /not a port/],
      [{ WEFT_EGRESS_ALLOW: 'http://x.example/?q=1' }, /URL entry/],
      [{ WEFT_EGRESS_ALLOW_ACME: 'not a host' }, /WEFT_EGRESS_ALLOW_ACME: entry "not a host"/],
      [{ WEFT_EGRESS_PROTECT: 'temporal' }, /WEFT_EGRESS_PROTECT: entry "temporal" is not host:port/],
      [{ WEFT_MAX_RESPONSE_BYTES: '10MB' }, /WEFT_MAX_RESPONSE_BYTES: expected a positive integer/],
      [{ WEFT_MAX_RESPONSE_BYTES: '0' }, /WEFT_MAX_RESPONSE_BYTES/],
    ];
    for (const [env, message] of cases) assert.throws(() => new ConnectorRegistry({ env }), message);
  });
});

describe('response cap', () => {
  const TOTAL = 50 * 1024 * 1024;
  let server: Server;
  let port: number;
  let revoke: () => void;
  const streams: Array<{ written: number; closedEarly: boolean }> = [];

  before(async () => {
    server = createServer((_req, res) => {
      // No content-length: the cap must stop a streamed body, not only a declared one.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const stream = { written: 0, closedEarly: false };
      streams.push(stream);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      res.on('close', () => (stream.closedEarly = stream.written < TOTAL));
      const pump = () => {
        while (stream.written < TOTAL && !res.destroyed) {
          stream.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    revoke = allowEgress(`127.0.0.1:${port}`);
  });

  after(async () => {
    revoke();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function closed(n: number): Promise<{ written: number; closedEarly: boolean }> {
    return until(
      'the server to see its stream end',
      () =>
        Promise.resolve(streams[n] && (streams[n].closedEarly || streams[n].written >= TOTAL) ? streams[n] : undefined),
      30_000,
      50,
    );
  }

  test('WEFT_MAX_RESPONSE_BYTES stops reading a streamed body; the call may lower the cap, never raise it', async () => {
    const capped = await startActivityWorker({
      registry: new ConnectorRegistry({ env: { WEFT_MAX_RESPONSE_BYTES: String(1024 * 1024) } }),
    });
    try {
      const url = `http://127.0.0.1:${port}/stream`;
      const call = (extra: Record<string, unknown>, params: Record<string, unknown> = {}) =>
        capped.call(
          'runConnector',
          { connector: 'http', action: 'request', params: { url, ...params }, ...extra },
          { maximumAttempts: 2 },
        );
      const tooLarge = (outcome: CallOutcome, cap: number) => {
        assert.ok(!outcome.ok);
        assert.equal(outcome.error.type, 'ResponseTooLarge');
        assert.equal(outcome.error.nonRetryable, true);
        assert.match(outcome.error.message, new RegExp(`exceeds the cap of ${cap} bytes`));
      };

      tooLarge(await call({}), 1024 * 1024);
      const first = await closed(0);
      assert.ok(first.closedEarly, 'the worker closed the connection');
      assert.ok(first.written < 16 * 1024 * 1024, `the server wrote ${first.written} bytes before the worker hung up`);

      // The call's own cap (ConnectorCall.max_response_bytes) lowers the worker's.
      tooLarge(await call({ max_response_bytes: 100 * 1024 }), 100 * 1024);
      assert.ok((await closed(1)).closedEarly);
      // The action's param lowers it too, but never raises it.
      tooLarge(await call({}, { max_response_bytes: 1000 }), 1000);
      tooLarge(await call({}, { max_response_bytes: 100 * 1024 * 1024 }), 1024 * 1024);
      assert.equal(streams.length, 4, 'never retried');
    } finally {
      await capped.shutdown();
    }
  });

  test('postgres and redis answers over the cap fail with ResponseTooLarge instead of reaching the run', async () => {
    const role = await createLeastPrivilegeRole(POSTGRES);
    const key = `weft-egress-big-${Date.now()}`;
    const redis = createClient({ url: REDIS });
    await redis.connect();
    await redis.set(key, JSON.stringify('x'.repeat(2 * 1024 * 1024)));
    const capped = await startActivityWorker({
      registry: new ConnectorRegistry({
        env: {
          WEFT_MAX_RESPONSE_BYTES: String(1024 * 1024),
          WEFT_POSTGRES_URL: role.url,
          WEFT_REDIS_URL: REDIS,
          WEFT_EGRESS_ALLOW: [egressEntry(POSTGRES), egressEntry(REDIS)].join(','),
        },
      }),
    });
    try {
      for (const call of [
        { connector: 'postgres', action: 'query', params: { sql: "SELECT repeat('x', 2000000) AS big" } },
        { connector: 'redis', action: 'get', params: { key } },
      ]) {
        const outcome = await capped.call('runConnector', call, { maximumAttempts: 2 });
        assert.ok(!outcome.ok, call.connector);
        assert.equal(outcome.error.type, 'ResponseTooLarge', outcome.error.message);
        assert.equal(outcome.error.nonRetryable, true);
        assert.match(outcome.error.message, /exceeds the cap of 1048576 bytes/);
      }
      // A result of 100 GB: only a reader that stops at the cap can answer at all (otherwise the
      // activity times out); the server sees its backend's connection closed.
      const marker = `weft_egress_endless_${Date.now()}`;
      const endless = await capped.call(
        'runConnector',
        {
          connector: 'postgres',
          action: 'query',
          params: { sql: `SELECT repeat('x', 1000) AS ${marker} FROM generate_series(1, 100000000)` },
        },
        { maximumAttempts: 1, startToCloseMs: 60_000 },
      );
      assert.ok(!endless.ok);
      assert.equal(endless.error.type, 'ResponseTooLarge', endless.error.message);
      const admin = new pg.Client({ connectionString: POSTGRES });
      await admin.connect();
      try {
        await untilTrue(
          'the server to stop running the endless query',
          async () => {
            const running = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1', [
              `%AS ${marker} FROM%`,
            ]);
            return running.rows[0].n === 0;
          },
          30_000,
          100,
        );
      } finally {
        await admin.end();
      }
      // Under the cap, the same connectors answer.
      const small = await capped.call(
        'runConnector',
        { connector: 'postgres', action: 'query', params: { sql: "SELECT repeat('x', 10) AS small" } },
        { maximumAttempts: 1 },
      );
      assert.ok(small.ok, JSON.stringify(small));
    } finally {
      await capped.shutdown();
      await redis.del(key);
      await redis.close();
      await role.drop();
    }
  });
});
