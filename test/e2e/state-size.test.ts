/**
 * Issue 19, "also measured": ten `set` nodes of 900 KB each made the workflow task fail with
 * "GRPC Message too large" for ever, and `GET /v1/runs/{id}` answer 500. The run state is bounded
 * (`state_bytes`, interpreter/state-size.ts): the node whose result would take it over fails with
 * `StateTooLarge`, through the normal failure path, so the run fails (or an error edge handles
 * it) and the state stays readable. A tenant's own `state_bytes` applies, and is bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { QUOTA_CEILINGS, QUOTA_DEFAULTS } from '../../interpreter/quotas.js';
import { bearer, createKey, putTenant } from '../support/access.js';
import { startTestStack, type TestStack } from '../support/gateway.js';
import { unique } from '../support/temporal.js';

const KB900 = "$pad('', 900000, 'x')";

/** Ten set nodes in a row, each assigning a 900 KB string of its own. */
function tenBig(id: string, extra: { edges?: unknown[]; nodes?: unknown[] } = {}) {
  const nodes = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, type: 'set', assign: { [`v${i}`]: KB900 } }));
  const edges = nodes.slice(1).map((node, i) => ({ from: `s${i}`, to: node.id }));
  return { id, nodes: [...nodes, ...(extra.nodes ?? [])], edges: [...edges, ...(extra.edges ?? [])] };
}

describe('the run state is bounded', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.close();
  });

  async function runOf(definition: unknown, headers: Record<string, string> = {}) {
    const submitted = await stack.call('POST', '/v1/definitions', definition, headers);
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const id = (definition as { id: string }).id;
    const started = await stack.call('POST', `/v1/definitions/${id}/runs`, {}, headers);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const runId = started.body.run_id as string;
    let result: { status: number; body: any } | undefined;
    for (let i = 0; i < 60; i++) {
      result = await stack.call('GET', `/v1/runs/${runId}/result?wait=true`, undefined, headers);
      if (result.body?.status !== 'running') break;
    }
    return { runId, result: result?.body };
  }

  test('ten 900 KB set nodes: the run fails with StateTooLarge at the first that does not fit, and its state reads', async () => {
    const { runId, result } = await runOf(tenBig(unique('ten-big')));
    assert.equal(result.status, 'failed', JSON.stringify(result).slice(0, 500));
    assert.equal(result.error.type, 'StateTooLarge');
    // 900 KB in the variable and again in the node's output: over the 1 MiB default already.
    assert.equal(result.error.node, 's0');
    const limit = QUOTA_DEFAULTS.state_bytes.toLocaleString('en-US');
    assert.match(result.error.message, new RegExp(`above the limit of ${limit} bytes \\(quota "state_bytes"\\)`));
    assert.match(result.error.message, /node "s0" would make the run state 1,800,\d{3} bytes of JSON/);

    const state = await stack.call('GET', `/v1/runs/${runId}`);
    assert.equal(state.status, 200, JSON.stringify(state.body).slice(0, 500));
    assert.equal(state.body.status, 'failed');
    assert.equal(state.body.nodes.s0.status, 'failed');
    assert.equal(state.body.nodes.s0.error.type, 'StateTooLarge');
    assert.equal(state.body.variables.v0, undefined, 'the refused value never entered the state');
    assert.equal(state.body.nodes.s1?.status ?? 'pending', 'pending');
  });

  test('an error edge handles StateTooLarge: the run goes on and completes', async () => {
    const definition = tenBig(unique('handled'), {
      nodes: [{ id: 'small', type: 'set', assign: { why: 'error.type', where: 'error.node' } }],
      edges: [{ from: 's0', to: 'small', on: 'error' }],
    });
    // Only s0 runs (its success edge to s1 is not taken); the handler records why.
    const { runId, result } = await runOf(definition);
    assert.equal(result.status, 'completed', JSON.stringify(result).slice(0, 500));
    assert.equal(result.result.why, 'StateTooLarge');
    assert.equal(result.result.where, 's0');
    const state = await stack.call('GET', `/v1/runs/${runId}`);
    assert.equal(state.status, 200);
    assert.equal(state.body.nodes.small.status, 'completed');
  });

  test("values that fit run on; a tenant's own state_bytes applies and is bounded", async () => {
    // 300 KB values: two fit in the default (1.2 MB with the outputs would not: the second fails).
    const small = "$pad('', 200000, 'y')";
    const fits = {
      id: unique('fits'),
      nodes: [
        { id: 'a', type: 'set', assign: { a: small } },
        { id: 'b', type: 'set', assign: { b: small } },
        { id: 'done', type: 'set', assign: { total: '$length(vars.a) + $length(vars.b)' } },
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'done' },
      ],
    };
    const ok = await runOf(fits);
    assert.equal(ok.result.status, 'completed', JSON.stringify(ok.result).slice(0, 300));
    assert.equal(ok.result.result.total, 400_000);

    const root = await createKey(stack, 'root', ['admin']);
    const tenant = unique('tight');
    const quotas = (state_bytes: number) =>
      stack.call('PUT', `/v1/tenants/${tenant}`, { quotas: { state_bytes } }, bearer(root));
    await putTenant(stack, root, tenant);
    const set = await quotas(600_000);
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.effective_quotas.state_bytes, 600_000);
    const key = await createKey(stack, 'author', ['editor', 'operator', 'viewer'], { adminKey: root, tenant });
    const tight = await runOf(fits, bearer(key));
    assert.equal(tight.result.status, 'failed', JSON.stringify(tight.result).slice(0, 300));
    assert.equal(tight.result.error.type, 'StateTooLarge');
    assert.equal(tight.result.error.node, 'b');
    assert.match(tight.result.error.message, /above the limit of 600,000 bytes/);

    const over = await quotas(QUOTA_CEILINGS.state_bytes + 1);
    assert.equal(over.status, 400);
    assert.match(JSON.stringify(over.body), /state_bytes/);
    assert.match(JSON.stringify(over.body), /expected at most 1,572,864/);
  });
});
