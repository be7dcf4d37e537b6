/**
 * The optional shared nonce store for webhook signatures (`WEFT_WEBHOOK_NONCE_REDIS_URL`): two
 * gateways on one definition store and one Redis accept a signed request once between them, a
 * gateway started afresh still refuses it, a claim that did not start a run is given back, and
 * with Redis unreachable a signed request is refused with 503 instead of being let through.
 * Without the setting each gateway remembers on its own (the control case), which is what the
 * shared store exists to close.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway/server.js';
import { signedHeaders } from '../../src/gateway/webhook-signature.js';
import { createLogger } from '../../src/logger.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';
import { untilTrue } from '../support/poll.js';

const secretName = `WEFT_TEST_NONCE_SECRET_${randomBytes(4).toString('hex').toUpperCase()}`;
const secret = randomBytes(24).toString('hex');
const REDIS = 'redis://127.0.0.1:6379';

/** Another gateway on `stack`'s store and task queue, with `env` on top of its settings. */
async function secondGateway(stack: TestStack, env: Record<string, string>): Promise<RunningGateway> {
  const config = loadConfig({
    DATABASE_URL: stack.config.databaseUrl,
    TEMPORAL_ADDRESS: stack.config.temporalAddress,
    TEMPORAL_NAMESPACE: stack.config.namespace,
    TEMPORAL_TASK_QUEUE: stack.config.taskQueue,
    PORT: '0',
    WEFT_DATA_DIR: stack.config.dataDir,
    LOG_LEVEL: 'silent',
    ...env,
  });
  return startGateway(config, createLogger('gateway', 'silent'));
}

async function hook(url: string, id: string, raw: string, headers: Record<string, string>) {
  const response = await fetch(`${url}/v1/hooks/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  });
  return { status: response.status, body: (await response.json()) as any };
}

function hooked(id: string) {
  return {
    id,
    variables: [{ name: 'order', type: 'string', required: true }],
    nodes: [{ id: 'noted', type: 'set', assign: { order: 'vars.order' } }],
    triggers: [{ type: 'webhook', secret: secretName }],
  };
}

describe('webhook replay guard shared in Redis', () => {
  let stack: TestStack;
  const opened: RunningGateway[] = [];

  before(async () => {
    process.env[secretName] = secret;
    stack = await startTestStack({ env: { WEFT_WEBHOOK_NONCE_REDIS_URL: REDIS } });
  });
  after(async () => {
    for (const gateway of opened) await gateway.close();
    await stack?.close();
    delete process.env[secretName];
  });

  test('two gateways accept a signed request once between them, and a restarted one still refuses it', async () => {
    const id = unique('nonce');
    assert.equal((await stack.call('POST', '/v1/definitions', hooked(id))).status, 201);
    const other = await secondGateway(stack, { WEFT_WEBHOOK_NONCE_REDIS_URL: REDIS });
    opened.push(other);
    const raw = JSON.stringify({ order: 'N-1' });
    const headers = signedHeaders(raw, secret);
    const first = await hook(stack.gateway.url, id, raw, headers);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const replayed = await hook(other.url, id, raw, headers);
    assert.equal(replayed.status, 401, JSON.stringify(replayed.body));
    assert.match(replayed.body.error.details[0].message, /already accepted/);

    // A gateway that starts afresh (a restart) knows it too.
    const fresh = await secondGateway(stack, { WEFT_WEBHOOK_NONCE_REDIS_URL: REDIS });
    opened.push(fresh);
    assert.equal((await hook(fresh.url, id, raw, headers)).status, 401);

    // Control: a gateway that remembers in memory only lets the replay through.
    const alone = await secondGateway(stack, {});
    opened.push(alone);
    assert.equal((await hook(alone.url, id, raw, headers)).status, 202);
  });

  test('a claim whose request did not start a run is given back', async () => {
    const id = unique('nonce-back');
    assert.equal((await stack.call('POST', '/v1/definitions', hooked(id))).status, 201);
    // Signed, but the body misses a required variable: 400, and the signature is not used up.
    const raw = JSON.stringify({ other: 1 });
    const headers = signedHeaders(raw, secret);
    assert.equal((await hook(stack.gateway.url, id, raw, headers)).status, 400);
    const again = await hook(stack.gateway.url, id, raw, headers);
    assert.equal(again.status, 400, JSON.stringify(again.body));
  });

  test('with Redis unreachable a signed request answers 503, not 202 and not 500; back once Redis is', async () => {
    // The gateway reaches Redis through a TCP relay the test can cut.
    const relay = await startRelay(6379);
    const gateway = await secondGateway(stack, { WEFT_WEBHOOK_NONCE_REDIS_URL: `redis://127.0.0.1:${relay.port}` });
    opened.push(gateway);
    const id = unique('nonce-down');
    assert.equal((await stack.call('POST', '/v1/definitions', hooked(id))).status, 201);
    const raw = JSON.stringify({ order: 'D-1' });
    relay.cut();
    const refused = await hook(gateway.url, id, raw, signedHeaders(raw, secret));
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /replay guard/);
    relay.restore();
    // The client reconnects on its own; the same request is then accepted (it was never claimed).
    await untilTrue(
      'the same request to be accepted',
      async () => {
        const status = (await hook(gateway.url, id, raw, signedHeaders(raw, secret))).status;
        if (status === 202) return true;
        assert.equal(status, 503);
        return false;
      },
      60_000,
      250,
    );
    opened.pop();
    await gateway.close();
    await relay.close();
  });
});

/** A TCP relay to a local port that can be cut (every connection dropped, new ones refused) and restored. */
async function startRelay(targetPort: number) {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
