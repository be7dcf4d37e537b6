/**
 * TLS and mTLS to the Temporal frontend, for real: certificates made by the `openssl` CLI, and a
 * TLS-terminating proxy in front of the suite's (plaintext) dev server that demands a client
 * certificate signed by the test CA. gRPC without TLS is HTTP/2 with prior knowledge, so once the
 * proxy has terminated TLS it only pipes bytes. A worker, a client and a gateway configured by
 * the `TEMPORAL_TLS*` variables run weft definitions through it; without the client certificate
 * the proxy refuses the handshake and the gateway reports Temporal as unavailable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { startTestStack } from '../support/gateway.js';
import { startRun } from '../support/runs.js';
import { NAMESPACE, temporalAddress, unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

/** PEM files of a test PKI: a CA, a server certificate for `localhost` and a client certificate. */
interface Pki {
  dir: string;
  path(name: string): string;
}

/** Only `localhost` is in the server certificate, so connecting to 127.0.0.1 needs the name override. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'weft-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=weft-test-ca');
  const leaf = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    );
  };
  const usage = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  leaf('server', '/CN=localhost', `subjectAltName=DNS:localhost\n${usage}extendedKeyUsage=serverAuth\n`);
  leaf('client', '/CN=weft-worker', `${usage}extendedKeyUsage=clientAuth\n`);
  return { dir, path: (name) => join(dir, name) };
}

interface TlsProxy {
  address: string;
  /** The common names of the client certificates of accepted connections. */
  accepted: string[];
  /** Handshakes the proxy refused. */
  refused: Error[];
  close(): Promise<void>;
}

/** Terminates mTLS and pipes each connection to the plaintext frontend at `target`. */
async function startTlsProxy(pki: Pki, target: string): Promise<TlsProxy> {
  const colon = target.lastIndexOf(':');
  const upstreamAddress = { host: target.slice(0, colon), port: Number(target.slice(colon + 1)) };
  const accepted: string[] = [];
  const refused: Error[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer(
    {
      key: readFileSync(pki.path('server.key')),
      cert: readFileSync(pki.path('server.pem')),
      ca: readFileSync(pki.path('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket: TLSSocket) => {
      accepted.push(String(socket.getPeerCertificate().subject.CN));
      const upstream = connectTcp(upstreamAddress);
      track(socket);
      track(upstream);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    },
  );
  server.on('tlsClientError', (err) => refused.push(err));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    accepted,
    refused,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

const greeting = (id: string) => ({
  id,
  variables: [
    { name: 'name', type: 'string', required: true },
    { name: 'greeting', type: 'string' },
  ],
  nodes: [{ id: 'greet', type: 'set', assign: { greeting: '"Hello " & vars.name' } }],
});

let pki: Pki;
let proxy: TlsProxy;
let worker: RunningWorker | undefined;
let connection: Connection | undefined;
const taskQueue = unique('tls');

/** The variables of a deployment whose frontend is the proxy, with the client certificate when `mtls`. */
function tlsEnv(mtls: boolean): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    TEMPORAL_TLS_CA: pki.path('ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    ...(mtls ? { TEMPORAL_TLS_CERT: pki.path('client.pem'), TEMPORAL_TLS_KEY: pki.path('client.key') } : {}),
  };
}

before(async () => {
  pki = makePki();
  proxy = await startTlsProxy(pki, temporalAddress());
});

after(async () => {
  await worker?.shutdown();
  await connection?.close();
  await proxy?.close();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

describe('TLS to Temporal', () => {
  test('a worker and a client with mTLS from TEMPORAL_TLS_* run a definition through the proxy', async () => {
    const config = loadConfig(tlsEnv(true));
    assert.ok(config.temporalTls?.clientCertPair, 'the client certificate pair is loaded');
    worker = await startWorker({
      address: config.temporalAddress,
      namespace: NAMESPACE,
      taskQueue: config.taskQueue,
      ...(config.temporalTls ? { tls: config.temporalTls } : {}),
    });
    connection = await Connection.connect({ address: config.temporalAddress, tls: config.temporalTls });
    const client = new Client({ connection, namespace: NAMESPACE });
    const handle = await startRun(client, taskQueue, greeting(unique('tls-client')), { name: 'Ada' });
    const result = (await handle.result()) as Record<string, unknown>;
    assert.equal(result.greeting, 'Hello Ada');
    // Both went through the proxy, each presenting the client certificate.
    assert.ok(proxy.accepted.length >= 2, `connections accepted by the proxy: ${proxy.accepted.length}`);
    assert.ok(proxy.accepted.every((cn) => cn === 'weft-worker'));
  });

  test('the server certificate is verified: the same settings with a name it does not carry fail', async () => {
    const tls = loadConfig({ ...tlsEnv(true), TEMPORAL_TLS_SERVER_NAME: 'temporal.example' }).temporalTls;
    await assert.rejects(
      Connection.connect({ address: proxy.address, tls, connectTimeout: 2_000 }),
      /Failed to connect before the deadline/,
    );
  });

  test('a gateway configured with TEMPORAL_TLS_* is ready and starts a run that completes', async () => {
    assert.ok(worker, 'the worker of the first test polls the task queue');
    const stack = await startTestStack({ worker: false, env: tlsEnv(true) });
    try {
      const ready = await stack.call('GET', '/readyz');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      const id = unique('tls-gateway');
      assert.equal((await stack.call('POST', '/v1/definitions', greeting(id))).status, 201);
      const started = await stack.call('POST', `/v1/definitions/${id}/runs`, { input: { name: 'Grace' } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const result = await stack.call('GET', `/v1/runs/${started.body.run_id}/result?wait=true`);
      assert.equal(result.status, 200);
      assert.deepEqual([result.body.status, result.body.result?.greeting], ['completed', 'Hello Grace']);
      // The run listing has a connection of its own; it must speak TLS too. Visibility lags a little.
      const listed = await until(
        'the run listing to show the run',
        async () => {
          const page = await stack.call('GET', `/v1/runs?definition_id=${id}`);
          return page.status !== 200 || page.body.items?.length > 0 ? page : undefined;
        },
        10_000,
      );
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(
        listed.body.items.map((item: { run_id: string }) => item.run_id),
        [started.body.run_id],
      );
    } finally {
      await stack.close();
    }
  });

  test('without the client certificate the proxy refuses the handshake and /readyz answers 503', async () => {
    const refusedBefore = proxy.refused.length;
    const stack = await startTestStack({ worker: false, env: tlsEnv(false) });
    try {
      const ready = await stack.call('GET', '/readyz');
      assert.equal(ready.status, 503, JSON.stringify(ready.body));
      assert.match(ready.body.checks.temporal, /^unavailable: /);
      assert.equal(ready.body.checks.store, 'ok');
      assert.ok(proxy.refused.length > refusedBefore, 'the proxy refused at least one handshake');
      // The gateway stays up: what needs only the store still works.
      assert.equal((await stack.call('GET', '/healthz')).status, 200);
      assert.equal((await stack.call('POST', '/v1/definitions', greeting(unique('tls-refused')))).status, 201);
    } finally {
      await stack.close();
    }
  });

  test('loadConfig names the variable of a missing file, a lone certificate or key, and a bad value', () => {
    const missing = join(pki.dir, 'nowhere.pem');
    assert.throws(() => loadConfig({ TEMPORAL_TLS_CA: missing }), /TEMPORAL_TLS_CA: cannot read ".*nowhere\.pem"/);
    assert.throws(
      () => loadConfig({ TEMPORAL_TLS_CERT: pki.path('client.pem'), TEMPORAL_TLS_KEY: missing }),
      /TEMPORAL_TLS_KEY: cannot read/,
    );
    assert.throws(() => loadConfig({ TEMPORAL_TLS_CERT: pki.path('client.pem') }), /TEMPORAL_TLS_KEY: required/);
    assert.throws(() => loadConfig({ TEMPORAL_TLS_KEY: pki.path('client.key') }), /TEMPORAL_TLS_CERT: required/);
    assert.throws(
      () => loadConfig({ TEMPORAL_TLS_CERT: pki.path('client.pem'), TEMPORAL_TLS_KEY: pki.path('server.key') }),
      /TEMPORAL_TLS_KEY: the key .* does not belong to the certificate/,
    );
    assert.throws(
      () => loadConfig({ TEMPORAL_TLS_CA: pki.path('ca.key') }),
      /TEMPORAL_TLS_CA: expected a PEM certificate/,
    );
    assert.throws(() => loadConfig({ TEMPORAL_TLS: 'yes' }), /TEMPORAL_TLS: expected "true" or "false"/);
    assert.throws(
      () => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: pki.path('ca.pem') }),
      /TEMPORAL_TLS: is "false" but TEMPORAL_TLS_CA/,
    );
    assert.equal(loadConfig({}).temporalTls, undefined);
    assert.deepEqual(loadConfig({ TEMPORAL_TLS: 'true' }).temporalTls, {});
  });
});
