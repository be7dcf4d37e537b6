/**
 * What the gateway shows to the network: it listens on 127.0.0.1 unless WEFT_GATEWAY_HOST says
 * otherwise (a bad value is refused naming the variable), and anonymous webhook probes learn
 * nothing: a hook without a secret, with one, with one that is not configured, a definition
 * without a webhook trigger and one that does not exist (in any tenant) all answer alike.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { sign, signedHeaders } from '../../src/gateway/webhook-signature.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

/** Whether a TCP connection to host:port opens. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('bind address', () => {
  test('the gateway listens on 127.0.0.1 unless WEFT_GATEWAY_HOST is set', async () => {
    const local = await startTestStack({ worker: false });
    try {
      const address = local.gateway.server.address() as AddressInfo;
      assert.equal(address.address, '127.0.0.1');
      assert.equal((await local.call('GET', '/healthz')).status, 200);
      // From another interface of this machine, when it has one, nothing answers.
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
      if (external !== undefined) assert.equal(await connects(external, address.port), false, external);
    } finally {
      await local.close();
    }
    const everywhere = await startTestStack({ worker: false, env: { WEFT_GATEWAY_HOST: '0.0.0.0' } });
    try {
      const address = everywhere.gateway.server.address() as AddressInfo;
      assert.equal(address.address, '0.0.0.0');
      assert.equal((await everywhere.call('GET', '/healthz')).status, 200);
    } finally {
      await everywhere.close();
    }
  });

  test('a bad WEFT_GATEWAY_HOST is refused naming it', () => {
    for (const bad of ['', 'not a host', 'http://0.0.0.0', '0.0.0.0:8080'])
      assert.throws(() => loadConfig({ WEFT_GATEWAY_HOST: bad }), /WEFT_GATEWAY_HOST: /, bad);
    assert.equal(loadConfig({}).host, '127.0.0.1');
    assert.equal(loadConfig({ WEFT_GATEWAY_HOST: '::' }).host, '::');
  });
});

describe('anonymous webhook probes', () => {
  let stack: TestStack;
  const secretName = `WEFT_PROBE_SECRET_${randomBytes(4).toString('hex').toUpperCase()}`;
  const secret = randomBytes(24).toString('hex');
  const ids = {
    open: unique('probe-open'),
    secret: unique('probe-secret'),
    unset: unique('probe-unset'),
    manual: unique('probe-manual'),
    missing: unique('probe-missing'),
  };
  let tenant: string;

  before(async () => {
    process.env[secretName] = secret;
    stack = await startTestStack({ worker: false });
    const admin = await createKey(stack, 'probe-admin', ['admin']);
    tenant = unique('probed');
    await putTenant(stack, admin, tenant);
    const editor = await createKey(stack, 'probe-editor', ['editor'], { adminKey: admin, tenant });
    const definition = (id: string, triggers: unknown[]) => ({
      id,
      nodes: [{ id: 'a', type: 'set', assign: { x: '1' } }],
      triggers,
    });
    for (const key of [admin, editor]) {
      for (const [id, triggers] of [
        [ids.open, [{ type: 'webhook' }]],
        [ids.secret, [{ type: 'webhook', secret: secretName }]],
        [ids.unset, [{ type: 'webhook', secret: `${secretName}_UNSET` }]],
        [ids.manual, [{ type: 'manual' }]],
      ] as const) {
        const submitted = await stack.call('POST', '/v1/definitions', definition(id, [...triggers]), bearer(key));
        assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
      }
    }
  });

  after(async () => {
    delete process.env[secretName];
    await stack?.close();
  });

  test('every kind of hook answers an unsigned or badly signed call identically', async () => {
    const body = '{}';
    const attempts: Record<string, Record<string, string>> = {
      unsigned: {},
      garbage: { 'x-signature': 'garbage' },
      'wrong secret': signedHeaders(body, 'not the secret'),
      'body-only signature under the wrong secret': { 'x-signature': sign(body, 'not the secret') },
    };
    const answers: Array<{ what: string; answer: string }> = [];
    for (const [kind, id] of Object.entries(ids)) {
      for (const query of ['', `?tenant=${tenant}`]) {
        for (const [attempt, headers] of Object.entries(attempts)) {
          const response = await fetch(`${stack.gateway.url}/v1/hooks/${id}${query}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
          });
          const shown = [...response.headers.entries()].filter(([name]) => !['x-request-id', 'date'].includes(name));
          answers.push({
            what: `${kind} hook${query ? ' of another tenant' : ''}, ${attempt}`,
            answer: JSON.stringify([response.status, await response.text(), shown]),
          });
        }
      }
    }
    const first = answers[0]?.answer ?? '';
    assert.match(first, /^\[401,/);
    assert.deepEqual(
      answers.filter((a) => a.answer !== first),
      [],
      `every probe should answer like the first: ${first}`,
    );
  });

  test('a valid signature still gets in', async () => {
    const body = '{}';
    const accepted = await stack.call('POST', `/v1/hooks/${ids.secret}`, body, signedHeaders(body, secret));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  });
});
