/**
 * Encrypted payloads end to end, on a Temporal dev server of this file's own (SQLite file, so
 * what Temporal stores can be read back): runs whose input, variables, result and error
 * message carry marker strings are readable through the codec, and the markers appear nowhere
 * in the raw history nor in the database files. A run started in clear shows that the scans
 * do find plaintext. Then the gateway's codec endpoint (decoding, auth guard, CORS), and the
 * dev server's Web UI pointed at it, in headless Chromium: it shows a run's input decrypted while
 * the gateway is open, and only ciphertext once the gateway requires keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import express from 'express';
import type { Browser, Page, Request } from 'playwright-core';
import { AesGcmCodec, parseCodecKeys } from '../../src/codec/aes-gcm-codec.js';
import { encryptingDataConverter } from '../../src/codec/data-converter.js';
import { codecCors, codecRoutes } from '../../src/gateway/codec-routes.js';
import { errorHandler, notFoundHandler } from '../../src/gateway/error-handler.js';
import { HttpError } from '../../src/shared/http-error.js';
import { jsonBody } from '../../src/gateway/request-body.js';
import { replayDefinition } from '../../src/replay/replay.js';
import { freePort, startDevServer, type TemporalServer } from '../../src/temporal/dev-server.js';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { launchChromium } from '../support/browser.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { json, startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { startRun } from '../support/runs.js';
import { unique } from '../support/temporal.js';
import { until } from '../support/poll.js';

const NAMESPACE = 'default';
const UI_ORIGIN = 'http://localhost:8233';
const marker = () => `MARKER-${randomBytes(8).toString('hex')}`;
/** In the input, a variable, an HTTP body and the result of a run started with the codec. */
const INPUT_MARKER = marker();
/** In the error message of a failing node. */
const FAILURE_MARKER = marker();
/** In the input of a run started through the gateway. */
const GATEWAY_MARKER = marker();
/** Sent in clear on purpose: proves the scans below find plaintext where there is some. */
const CLEAR_MARKER = marker();

const keysVariable = `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`;
const codec = new AesGcmCodec(parseCodecKeys(keysVariable));
const dataConverter = encryptingDataConverter(codec);
const taskQueue = unique('codec');

let dir: string;
let server: TemporalServer;
let uiPort = 0;
/** The gateway's `/codec`, as the dev server's Web UI calls it from the browser. */
let codecEndpoint = '';
/** A gateway with the codec, in local-development mode until a test creates keys. */
let stack: TestStack;
let target: HttpTarget;
let worker: RunningWorker;
let connection: Connection;
/** With the codec, as the gateway and worker are configured. */
let client: Client;
/** Without it: what anyone reading Temporal directly sees. */
let plainClient: Client;

const secretDefinition = (url: string, id: string) => ({
  id,
  variables: [
    { name: 'secret', type: 'string', required: true },
    { name: 'copied', type: 'string' },
  ],
  nodes: [
    {
      id: 'send',
      type: 'task',
      connector: 'http',
      action: 'request',
      output: 'echoed',
      inputs: { method: 'post', url: `${url}/echo`, body: { secret: '{{ vars.secret }}' } },
    },
    { id: 'copy', type: 'set', assign: { copied: 'vars.secret' } },
  ],
  edges: [{ from: 'send', to: 'copy' }],
});

const failingDefinition = (url: string) => ({
  id: 'codec-failure',
  nodes: [{ id: 'fail', type: 'task', connector: 'http', action: 'request', inputs: { url: `${url}/fail` } }],
});

type History = proto.temporal.api.history.v1.IHistory;

/** A run's history exactly as the server returns it to a caller without the codec. */
async function rawHistory(workflowId: string): Promise<History> {
  const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: NAMESPACE,
      execution: { workflowId },
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}

/** Whether `text` occurs anywhere in the history: in its protobuf bytes or its JSON form. */
function historyContains(history: History, text: string): boolean {
  const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
  return bytes.includes(text) || historyToJSON(history).includes(text);
}

function eventOf(history: History, type: proto.temporal.api.enums.v1.EventType) {
  return history.events?.find((e) => e.eventType === type);
}

const EventType = proto.temporal.api.enums.v1.EventType;

/** Payloads in the codec protocol's JSON form. */
function toJsonPayload(payload: Payload) {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  };
}

/**
 * How the first POST to `url` the page makes ends, as the browser saw it: `HTTP <status>` when
 * the page could read the answer, else `failed: <reason>` (a CORS block is `net::ERR_FAILED`),
 * or that none was made. Set up before the page is opened.
 */
async function firstDecodeCall(page: Page, url: string): Promise<string> {
  const isDecode = (request: Request) => request.method() === 'POST' && request.url() === url;
  const answered = page
    .waitForEvent('response', { predicate: (response) => isDecode(response.request()), timeout: 30_000 })
    .then((response) => `HTTP ${response.status()}`);
  const failed = page
    .waitForEvent('requestfailed', { predicate: isDecode, timeout: 30_000 })
    .then((request) => `failed: ${request.failure()?.errorText ?? 'unknown'}`);
  // Only one of them happens; the other times out or ends with the page, which `any` absorbs.
  return Promise.any([answered, failed]).catch(() => `no POST to ${url} within 30 s`);
}

function startInput(history: History): Payload {
  const payload = eventOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    ?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.ok(payload, 'the history has a start event with an input');
  return payload;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-codec-'));
  uiPort = await freePort();
  // The Web UI learns the codec endpoint when the dev server starts, so the gateway's port is
  // chosen first and the gateway started right after (before its port can be taken).
  const gatewayPort = await freePort();
  codecEndpoint = `http://localhost:${gatewayPort}/codec`;
  server = await startDevServer({
    uiPort,
    uiCodecEndpoint: codecEndpoint,
    dbFile: join(dir, 'temporal.db'),
    log: () => undefined,
  });
  assert.ok(server.uiUrl, 'the dev server was started with its Web UI');
  stack = await startTestStack({
    worker: false,
    env: {
      PORT: String(gatewayPort),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      // The origin the codec routes answer with CORS headers.
      TEMPORAL_UI_URL: server.uiUrl,
      WEFT_CODEC_KEYS: keysVariable,
    },
  });
  target = await startHttpTarget({
    '/echo': (req, res) => json(res, 200, { received: JSON.parse(req.body) as unknown }),
    '/fail': (_req, res) => {
      res.writeHead(404, `Gone ${FAILURE_MARKER}`, { 'content-type': 'application/json' });
      res.end('{}');
    },
  });
  worker = await startWorker({ address: server.address, namespace: NAMESPACE, taskQueue, codec });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: NAMESPACE, dataConverter });
  plainClient = new Client({ connection, namespace: NAMESPACE });
});

after(async () => {
  // The last test stops these itself; stopping twice is harmless.
  await stack?.close();
  await worker?.shutdown();
  await connection?.close().catch(() => undefined);
  await server?.stop();
  await target?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('encrypted payloads', () => {
  let secretRunId = '';
  let failedRunId = '';
  let clearRunId = '';

  test('a run reads its input, variables and result through the codec; the raw history holds only ciphertext', async () => {
    const handle = await startRun(client, taskQueue, secretDefinition(target.url, 'codec-secret'), {
      secret: INPUT_MARKER,
    });
    secretRunId = handle.workflowId;
    const result = (await handle.result()) as Record<string, any>;
    assert.equal(result.copied, INPUT_MARKER);
    assert.equal(result.echoed.body.received.secret, INPUT_MARKER);
    // The activity really sent the decrypted value.
    assert.ok(target.requests.some((r) => r.path === '/echo' && r.body.includes(INPUT_MARKER)));

    const history = await rawHistory(secretRunId);
    assert.ok((history.events?.length ?? 0) > 5);
    assert.equal(historyContains(history, INPUT_MARKER), false, 'the marker is in the raw history');
    const input = startInput(history);
    assert.equal(Buffer.from(input.metadata?.encoding ?? []).toString(), 'binary/encrypted');
    assert.equal(Buffer.from(input.metadata?.['encryption-key-id'] ?? []).toString(), 'k2');
    const completed = eventOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    const resultPayload = completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    assert.equal(Buffer.from(resultPayload?.metadata?.encoding ?? []).toString(), 'binary/encrypted');
  });

  test("a failing node's error message is encrypted too, and readable through the codec", async () => {
    const handle = await startRun(client, taskQueue, failingDefinition(target.url));
    failedRunId = handle.workflowId;
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'HttpError');
      assert.match(err.cause.message, new RegExp(`404 Gone ${FAILURE_MARKER} at node "fail"`));
      return true;
    });

    const history = await rawHistory(failedRunId);
    assert.equal(historyContains(history, FAILURE_MARKER), false, 'the failure marker is in the raw history');
    const failed = eventOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
    const failure = failed?.workflowExecutionFailedEventAttributes?.failure;
    assert.equal(failure?.message, 'Encoded failure');
    assert.equal(failure?.stackTrace, '');
    assert.equal(Buffer.from(failure?.encodedAttributes?.metadata?.encoding ?? []).toString(), 'binary/encrypted');
    // The activity's own failure, as recorded before the workflow failed.
    const activityFailed = eventOf(history, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
    assert.equal(activityFailed?.activityTaskFailedEventAttributes?.failure?.message, 'Encoded failure');
    // The type stays readable: it is what retry policies and the Web UI key off.
    assert.equal(failure?.applicationFailureInfo?.type, 'HttpError');
  });

  test('a run started without the codec is stored in clear, and the scan finds it', async () => {
    const handle = await startRun(plainClient, taskQueue, secretDefinition(target.url, 'codec-secret'), {
      secret: CLEAR_MARKER,
    });
    clearRunId = handle.workflowId;
    // The worker still encrypts what it writes: the result is readable only with the codec.
    const result = (await client.workflow.getHandle(clearRunId).result()) as Record<string, any>;
    assert.equal(result.copied, CLEAR_MARKER);
    assert.equal(historyContains(await rawHistory(clearRunId), CLEAR_MARKER), true);
  });

  test('replay decrypts histories with the codec, and cannot without it', async () => {
    // Visibility lists closed runs a moment after they close.
    const outcomes = await until(
      'visibility to list both runs',
      async () => {
        const found = await replayDefinition(plainClient, 'codec-secret', 10, dataConverter);
        return found.length >= 2 ? found : undefined;
      },
      20_000,
      250,
    );
    assert.deepEqual(outcomes.map((o) => o.name).sort(), [clearRunId, secretRunId].sort());
    assert.ok(
      outcomes.every((o) => o.ok),
      JSON.stringify(outcomes),
    );
    const withoutCodec = await replayDefinition(plainClient, 'codec-secret', 10);
    const encrypted = withoutCodec.find((o) => o.name === secretRunId);
    assert.equal(encrypted?.ok, false);
  });

  describe('through the gateway', () => {
    let browser: Browser;
    /** The Web UI's page of the run started through the gateway, as the gateway links it. */
    let runPage = '';
    before(async () => {
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
    });

    /** Opens the run's page in a fresh browser context (nothing decoded is cached across). */
    async function openRunPage(): Promise<{ page: Page; decode: Promise<string> }> {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const decode = firstDecodeCall(page, `${codecEndpoint}/decode`);
      await page.goto(runPage);
      return { page, decode };
    }

    test('the gateway encrypts what it starts and decrypts results and payloads for the Web UI', async () => {
      const definition = secretDefinition(target.url, 'codec-gateway');
      assert.equal((await stack.call('POST', '/v1/definitions', definition)).status, 201);
      const started = await stack.call('POST', '/v1/definitions/codec-gateway/runs', {
        input: { secret: GATEWAY_MARKER },
      });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const runId: string = started.body.run_id;
      runPage = started.body.ui_url;
      const outcome = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`);
      assert.equal(outcome.body.status, 'completed', JSON.stringify(outcome.body));
      assert.equal(outcome.body.result.copied, GATEWAY_MARKER);

      const history = await rawHistory(runId);
      assert.equal(historyContains(history, GATEWAY_MARKER), false);
      const decoded = await stack.call(
        'POST',
        '/codec/decode',
        { payloads: [toJsonPayload(startInput(history))] },
        { 'X-Namespace': NAMESPACE },
      );
      assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
      const [payload] = decoded.body.payloads;
      assert.equal(Buffer.from(payload.metadata.encoding, 'base64').toString(), 'json/plain');
      assert.ok(Buffer.from(payload.data, 'base64').toString().includes(GATEWAY_MARKER));

      const doc = (await stack.call('GET', '/v1/openapi.json')).body;
      assert.ok(doc.paths['/codec/encode']?.post);
      assert.ok(doc.paths['/codec/decode']?.post);
    });

    // What Temporal stores of this run is ciphertext: the test above scans its raw history, and
    // the last test the database files. So the marker on the page comes from the codec endpoint.
    test("the Web UI shows the run's input decrypted, through the gateway's codec endpoint", async () => {
      const settings = (await (await fetch(`${server.uiUrl}/api/v1/settings`)).json()) as any;
      assert.equal(settings.Codec.Endpoint, codecEndpoint);
      assert.ok(runPage.startsWith(`${server.uiUrl}/namespaces/${NAMESPACE}/workflows/`), runPage);

      const { page, decode } = await openRunPage();
      try {
        assert.equal(await decode, 'HTTP 200');
        await page.getByText(GATEWAY_MARKER).first().waitFor({ timeout: 30_000 });
      } finally {
        await page.close();
      }
    });

    test("once keys exist, decoding needs a key with the run permission in the namespace's tenant", async () => {
      const runs = await stack.call('GET', '/v1/runs?definition_id=codec-gateway');
      const history = await rawHistory(runs.body.items[0].run_id);
      const body = { payloads: [toJsonPayload(startInput(history))] };
      const admin = await createKey(stack, 'codec-admin', ['admin']);
      const operator = await createKey(stack, 'codec-operator', ['operator'], { adminKey: admin });
      const viewer = await createKey(stack, 'codec-viewer', ['viewer'], { adminKey: admin });
      await putTenant(stack, admin, 'codec-other');
      const outsider = await createKey(stack, 'codec-outsider', ['operator'], {
        adminKey: admin,
        tenant: 'codec-other',
      });
      const decode = (headers: Record<string, string>) =>
        stack.call('POST', '/codec/decode', body, { 'X-Namespace': NAMESPACE, ...headers });
      assert.equal((await decode({})).status, 401);
      assert.equal((await decode(bearer(viewer))).status, 403);
      assert.equal((await decode(bearer(outsider))).status, 403, 'a tenant sharing the namespace may not decode it');
      assert.equal((await decode({ ...bearer(operator), 'X-Namespace': 'elsewhere' })).status, 404);
      const decoded = await decode(bearer(operator));
      assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
      assert.ok(Buffer.from(decoded.body.payloads[0].data, 'base64').toString().includes(GATEWAY_MARKER));
    });

    // The Web UI can send credentials to a codec endpoint only as its OIDC access token, so a
    // browser here has no key to give: this is the refusal. Decoding with a key is the test above.
    test('once keys exist, the Web UI is refused by the codec endpoint and shows only ciphertext', async () => {
      const { page, decode } = await openRunPage();
      try {
        // Read by the page, not blocked by CORS: the refusal must reach the UI as a 401.
        assert.equal(await decode, 'HTTP 401');
        // The banner over the run (the navigation holds the same text, hidden, as a tooltip).
        const banner = page.getByText('Codec Server could not connect').filter({ visible: true });
        await banner.first().waitFor({ timeout: 30_000 });
        // The input as stored: "binary/encrypted" in base64, in the payload's metadata.
        const encoding = Buffer.from('binary/encrypted').toString('base64');
        await page.getByText(encoding).first().waitFor({ timeout: 30_000 });
        const text = await page.locator('body').innerText();
        assert.equal(text.includes(GATEWAY_MARKER), false, 'the marker is shown without a key');
      } finally {
        await page.close();
      }
    });
  });

  describe('the codec endpoint', () => {
    let url = '';
    let close: () => Promise<void> = () => Promise.resolve();
    // The gateway's middleware around the routes; the guard stands in for the role check.
    before(async () => {
      const app = express();
      app.use(...jsonBody('2mb'));
      app.use('/codec', codecCors([UI_ORIGIN]));
      codecRoutes(app, {
        codecFor: (namespace) => (namespace === NAMESPACE ? codec : undefined),
        guard: (req, _res, next) =>
          req.get('Authorization') === 'Bearer good'
            ? next()
            : next(new HttpError('unauthorized', 'a valid bearer token is required')),
        allowedOrigins: [UI_ORIGIN],
      });
      app.use(notFoundHandler);
      app.use(errorHandler({ error: () => undefined }));
      const listening = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => listening.once('listening', () => resolve()));
      const address = listening.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      close = () => new Promise<void>((resolve) => listening.close(() => resolve()));
    });
    after(() => close());

    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': NAMESPACE, ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as any };
    };
    const good = { authorization: 'Bearer good', origin: UI_ORIGIN };

    test('decodes the payloads of a raw history, input and result alike', async () => {
      const history = await rawHistory(secretRunId);
      const completed = eventOf(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
      const result = completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
      assert.ok(result);
      const response = await post(
        '/codec/decode',
        { payloads: [startInput(history), result].map(toJsonPayload) },
        good,
      );
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.headers.get('access-control-allow-origin'), UI_ORIGIN);
      assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
      assert.equal(response.body.payloads.length, 2);
      for (const payload of response.body.payloads) {
        assert.ok(Buffer.from(payload.data, 'base64').toString().includes(INPUT_MARKER));
      }
    });

    test('encode then decode round-trips, with the first key', async () => {
      const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: btoa('"hi"') };
      const encoded = await post('/codec/encode', { payloads: [plain] }, good);
      assert.equal(encoded.status, 200);
      const [sealed] = encoded.body.payloads;
      assert.equal(Buffer.from(sealed.metadata['encryption-key-id'], 'base64').toString(), 'k2');
      const decoded = await post('/codec/decode', { payloads: [sealed] }, good);
      assert.deepEqual(decoded.body.payloads, [plain]);
    });

    test('refuses callers without a good token, with the CORS headers so the Web UI can read why', async () => {
      const body = { payloads: [] };
      const refused: Array<Record<string, string>> = [
        { origin: UI_ORIGIN },
        { origin: UI_ORIGIN, authorization: 'Bearer bad' },
      ];
      for (const headers of refused) {
        const response = await post('/codec/decode', body, headers);
        assert.equal(response.status, 401);
        assert.equal(response.body.error.code, 'unauthorized');
        assert.equal(response.headers.get('access-control-allow-origin'), UI_ORIGIN);
      }
      assert.equal((await post('/codec/encode', body, {})).status, 401);
    });

    test('answers the preflight of the Web UI without credentials, and no other origin', async () => {
      const preflight = (origin: string) =>
        fetch(`${url}/codec/decode`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,x-namespace,authorization',
          },
        });
      const allowed = await preflight(UI_ORIGIN);
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), UI_ORIGIN);
      assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
      assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
      const allowedHeaders = (allowed.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
      for (const header of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowedHeaders.includes(header));

      const other = await preflight('http://evil.example');
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const response = await post('/codec/decode', { payloads: [] }, { ...good, origin: 'http://evil.example' });
      assert.equal(response.headers.get('access-control-allow-origin'), null);
    });

    test('names what is wrong: the body, the namespace, a payload it cannot decrypt', async () => {
      const bad = await post('/codec/decode', { payloads: [{ data: 'not base64!' }] }, good);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'validation_failed');
      assert.deepEqual(
        bad.body.error.details.map((d: { path: string }) => d.path),
        ['/payloads/0/data'],
      );
      const missing = await post('/codec/decode', {}, good);
      assert.equal(missing.status, 400);
      assert.deepEqual(
        missing.body.error.details.map((d: { path: string }) => d.path),
        ['/payloads'],
      );

      const unknown = await post('/codec/decode', { payloads: [] }, { ...good, 'x-namespace': 'elsewhere' });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');
      assert.match(unknown.body.error.message, /namespace "elsewhere"/);

      const foreign = await new AesGcmCodec([{ id: 'k9', key: randomBytes(32) }]).encode([
        { metadata: {}, data: Buffer.from('x') },
      ]);
      const undecryptable = await post('/codec/decode', { payloads: foreign.map(toJsonPayload) }, good);
      assert.equal(undecryptable.status, 400);
      assert.equal(undecryptable.body.error.details[0].path, '/payloads/0');
      assert.match(undecryptable.body.error.details[0].message, /key "k9"/);
    });
  });

  test("Temporal's database files hold no marker once the server has stopped", async () => {
    await worker.shutdown();
    await connection.close();
    await server.stop();
    const files = readdirSync(dir).filter((f) => f.startsWith('temporal.db'));
    assert.ok(files.includes('temporal.db'), `files: ${files.join(', ')}`);
    const stored = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
    assert.equal(stored.includes(CLEAR_MARKER), true, 'the run started in clear is not found: the scan is blind');
    for (const secret of [INPUT_MARKER, FAILURE_MARKER, GATEWAY_MARKER]) {
      assert.equal(stored.includes(secret), false, `${secret} is stored in clear`);
    }
  });
});
