/**
 * `POST /v1/hooks/{definition_id}` over HTTP: only an active version with a `webhook` trigger
 * accepts hooks; the JSON body is the run input, checked against the variables; a trigger
 * secret (named environment variable) requires an HMAC-SHA256 signature of the signed timestamp
 * and the raw body, fresh (five minutes) and used once; signatures of the body alone are refused
 * unless the operator accepts them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sign, signedHeaders } from '../../src/gateway/webhook-signature.js';
import { pluck, startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

let stack: TestStack;
const secretName = `WEFT_TEST_HOOK_SECRET_${randomBytes(4).toString('hex').toUpperCase()}`;
const secret = randomBytes(24).toString('hex');

before(async () => {
  // The in-process gateway reads webhook secrets from this process's environment.
  process.env[secretName] = secret;
  stack = await startTestStack();
});
after(async () => {
  delete process.env[secretName];
  await stack?.close();
});

function orders(id: string, triggers: unknown[]) {
  return {
    id,
    variables: [
      { name: 'order', type: 'string', required: true },
      { name: 'amount', type: 'number', default: 0 },
      { name: 'doubled', type: 'number' },
    ],
    nodes: [{ id: 'double', type: 'set', assign: { doubled: 'vars.amount * 2' } }],
    triggers,
  };
}

/** A raw POST: the test controls the exact bytes that are signed and sent. */
async function hook(id: string, raw: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.gateway.url}/v1/hooks/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('webhooks', () => {
  test('a webhook without a secret starts a run with the body as input', async () => {
    const id = unique('hooked');
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook' }]));
    const accepted = await hook(id, JSON.stringify({ order: 'A-1', amount: 21 }));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.match(accepted.body.run_id, new RegExp(`^${id}-`));
    assert.equal(accepted.body.definition_version, '1');
    const result = await stack.call('GET', `/v1/runs/${accepted.body.run_id}/result?wait=true`);
    assert.equal(result.body.status, 'completed');
    assert.equal(result.body.result.doubled, 42);
    assert.equal(result.body.result.order, 'A-1');
  });

  test('a body that does not match the variables answers 400 naming the field', async () => {
    const id = unique('hooked-input');
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook' }]));
    const cases: Array<[string, string[]]> = [
      [JSON.stringify({ order: 5 }), ['/order']],
      [JSON.stringify({ amount: 1 }), ['/order']],
      [JSON.stringify({ order: 'x', colour: 'red' }), ['/colour']],
      [JSON.stringify([1, 2]), ['']],
      ['', ['/order']],
    ];
    for (const [raw, paths] of cases) {
      const response = await hook(id, raw);
      assert.equal(response.status, 400, raw);
      assert.equal(response.body.error.code, 'validation_failed');
      assert.deepEqual(pluck(response.body.error.details, 'path'), paths, raw);
    }
    const notJson = await hook(id, 'order=A-1', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(notJson.status, 400);
  });

  test('a definition without a webhook trigger, or unknown, answers 404', async () => {
    const id = unique('unhooked');
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'manual' }]));
    const refused = await hook(id, JSON.stringify({ order: 'A' }));
    assert.equal(refused.status, 404);
    assert.equal(refused.body.error.code, 'not_found');
    assert.match(refused.body.error.message, /no trigger of type "webhook"/);
    assert.equal((await hook(unique('nothing'), '{}')).status, 404);

    // It is the active version that counts.
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook' }]));
    assert.equal((await hook(id, JSON.stringify({ order: 'A' }))).status, 202);
    await stack.call('PUT', `/v1/definitions/${id}/active`, { version: '1' });
    assert.equal((await hook(id, JSON.stringify({ order: 'A' }))).status, 404);
  });

  test('with a secret, only a valid X-Signature of the timestamp and the raw body is accepted', async () => {
    const id = unique('signed');
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook', secret: secretName }]));
    // Whitespace and key order are part of the signed bytes: the gateway must sign the raw body.
    const raw = '{ "amount": 2,\n  "order": "S-1" }';
    const now = Math.floor(Date.now() / 1000);

    const unsigned = await hook(id, raw);
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.body.error.code, 'unauthorized');
    assert.equal(unsigned.body.error.details[0].path, '/headers/x-signature');

    const at = (signature: string, timestamp: string | number = now) => ({
      'x-signature': signature,
      'x-signature-timestamp': String(timestamp),
    });
    for (const headers of [
      at(sign(raw, 'not the secret', now)),
      at(sign(JSON.stringify(JSON.parse(raw)), secret, now)), // the same JSON, other bytes
      at(sign(raw, secret, now).replace('sha256=', 'sha1=')),
      at(sign(raw, secret, now).slice(0, -2)),
      at(sign(raw, secret, now), now + 1), // the timestamp is signed
      at(sign(raw, secret, now), `${now}.5`),
      at('sha256='),
      at('garbage'),
    ]) {
      const refused = await hook(id, raw, headers);
      assert.equal(refused.status, 401, JSON.stringify(headers));
      assert.equal(refused.body.error.code, 'unauthorized');
      assert.equal(refused.body.error.details[0].path, '/headers/x-signature', JSON.stringify(headers));
    }

    const accepted = await hook(id, raw, signedHeaders(raw, secret));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const result = await stack.call('GET', `/v1/runs/${accepted.body.run_id}/result?wait=true`);
    assert.equal(result.body.result.doubled, 4);

    const other = '{"order": "S-2"}';
    const upper = await hook(id, other, at(`sha256=${sign(other, secret, now).slice(7).toUpperCase()}`));
    assert.equal(upper.status, 202, JSON.stringify(upper.body));

    // The signature is checked before the input: an unsigned caller learns nothing about it.
    assert.equal((await hook(id, '{"order": 5}')).status, 401);
    const signedBad = '{"order": 5}';
    assert.equal((await hook(id, signedBad, signedHeaders(signedBad, secret))).status, 400);
  });

  test('a signed request is accepted once, within five minutes of its timestamp', async () => {
    const id = unique('replayed');
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook', secret: secretName }]));
    const raw = JSON.stringify({ order: 'R-1', amount: 1 });
    const headers = signedHeaders(raw, secret);
    assert.equal((await hook(id, raw, headers)).status, 202);
    const replayed = await hook(id, raw, headers);
    assert.equal(replayed.status, 401, JSON.stringify(replayed.body));
    assert.match(replayed.body.error.details[0].message, /already accepted/);
    // The same body signed at another second is another request.
    const later = Math.floor(Date.now() / 1000) + 1;
    assert.equal((await hook(id, raw, signedHeaders(raw, secret, later))).status, 202);

    // A minute from the 300 s bound either way: the gateway reads its clock a moment after this one,
    // and on a loaded machine that moment can be seconds.
    const now = Math.floor(Date.now() / 1000);
    for (const stale of [now - 360, now + 360, 0]) {
      const refused = await hook(id, raw, signedHeaders(raw, secret, stale));
      assert.equal(refused.status, 401, String(stale));
      assert.equal(refused.body.error.details[0].path, '/headers/x-signature-timestamp');
      assert.match(refused.body.error.details[0].message, /more than 300 seconds/);
    }
    // Inside the window either way.
    assert.equal((await hook(id, '{"order":"R-2"}', signedHeaders('{"order":"R-2"}', secret, now - 240))).status, 202);
    assert.equal((await hook(id, '{"order":"R-3"}', signedHeaders('{"order":"R-3"}', secret, now + 240))).status, 202);

    // A signature of the body alone (the HTTP contract's form) is accepted by default, once within the window.
    const contractBody = JSON.stringify({ order: 'R-4' });
    assert.equal((await hook(id, contractBody, { 'x-signature': sign(contractBody, secret) })).status, 202);
    const again = await hook(id, contractBody, { 'x-signature': sign(contractBody, secret) });
    assert.equal(again.status, 401, JSON.stringify(again.body));
    assert.match(again.body.error.details[0].message, /already accepted/);
  });

  test('a secret whose environment variable is not set answers 503, and bad secret names are refused', async () => {
    const id = unique('unconfigured');
    await stack.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook', secret: `${secretName}_MISSING` }]));
    const response = await hook(id, '{"order":"A"}', signedHeaders('{"order":"A"}', secret));
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, 'unavailable');
    assert.doesNotMatch(response.body.error.message, new RegExp(secret));

    const badName = await stack.call(
      'POST',
      '/v1/definitions',
      orders(unique('bad-secret'), [{ type: 'webhook', secret: 'my secret!' }]),
    );
    assert.equal(badName.status, 400);
    assert.equal(badName.body.error.details[0].path, '/triggers/0/secret');
  });
});

describe('webhook signatures of the body alone, when the operator refuses them', () => {
  let legacy: TestStack;
  before(async () => {
    legacy = await startTestStack({ worker: false, env: { WEFT_WEBHOOK_BODY_ONLY_SIGNATURES: 'refuse' } });
  });
  after(async () => {
    await legacy?.close();
  });

  test('are refused naming the timestamp header; timestamped ones still work', async () => {
    const id = unique('legacy');
    await legacy.call('POST', '/v1/definitions', orders(id, [{ type: 'webhook', secret: secretName }]));
    const post = (raw: string, headers: Record<string, string>) => legacy.call('POST', `/v1/hooks/${id}`, raw, headers);
    const raw = JSON.stringify({ order: 'L-1' });
    const bodyOnly = await post(raw, { 'x-signature': sign(raw, secret) });
    assert.equal(bodyOnly.status, 401, JSON.stringify(bodyOnly.body));
    assert.equal(bodyOnly.body.error.details[0].path, '/headers/x-signature-timestamp');
    assert.match(bodyOnly.body.error.details[0].message, /covers the body only/);
    assert.equal((await post(raw, { 'x-signature': sign(raw, 'wrong') })).status, 401);
    assert.equal((await post(raw, signedHeaders(raw, secret))).status, 202);
  });

  test('a bad value of the setting is refused naming it', async () => {
    await assert.rejects(
      startTestStack({ worker: false, env: { WEFT_WEBHOOK_BODY_ONLY_SIGNATURES: 'yes' } }),
      /WEFT_WEBHOOK_BODY_ONLY_SIGNATURES: expected "accept"/,
    );
  });
});
