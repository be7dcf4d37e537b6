/**
 * The OpenAPI 3.1 document of the gateway, served at `GET /v1/openapi.json`. A test walks the
 * express router and fails when a route is missing here (or documented but not served).
 */
import { z } from 'zod';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { AUDIT_ACTIONS } from './audit.js';
import { CodecBody } from './codec-routes.js';
import { accessPaths, pathParam, securitySchemes, withAccess } from './openapi-access.js';
import { Approval, EventBody, Rerun, Variables, bodies } from './control-routes.js';
import { componentSchemas } from './openapi-schemas.js';
import { templatePaths } from './openapi-templates.js';
import { connectionPaths, connectionSchemas } from './openapi-connections.js';
import { UNLIMITED_PATHS } from './rate-limit.js';

type Operation = Record<string, unknown>;

const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (s: unknown) => ({ 'application/json': { schema: s } });
const ok = (description: string, name?: string) => ({
  description,
  ...(name ? { content: jsonContent(schema(name)) } : {}),
});
const err = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** Errors every request may get: an unreachable Temporal server or definition store. */
const always = { '503': err('Unavailable') };

/** Every operation but the probes may answer 429 when a rate limit is configured. */
function withRateLimit(paths: Record<string, Record<string, Operation>>): Record<string, Record<string, Operation>> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      UNLIMITED_PATHS.has(path)
        ? item
        : Object.fromEntries(
            Object.entries(item).map(([method, operation]) => [
              method,
              { ...operation, responses: { ...(operation.responses as object), '429': err('RateLimited') } },
            ]),
          ),
    ]),
  );
}
/** Errors of requests with a body. */
const bodyErrors = { '400': err('BadRequest'), '413': err('PayloadTooLarge'), '415': err('UnsupportedMediaType') };

const id = pathParam('id', 'definition id');
const runId = pathParam('run_id', 'run id (the Temporal workflow id)');

const nodeCallSchema = {
  type: 'object',
  required: ['kind', 'input', 'scheduled_at'],
  properties: {
    kind: { type: 'string', enum: ['activity', 'child'] },
    input: { description: 'the resolved input of the call' },
    scheduled_at: { type: 'string', format: 'date-time' },
    index: { type: 'integer', description: "a map item's index, when the history tells it" },
  },
};

/** The answer of `GET /v1/runs/{run_id}/nodes/{node}/input` (`NodeInput` in src/gateway/node-input.ts). */
const nodeInputSchema = {
  type: 'object',
  required: ['run_id', 'node', 'node_type', 'input', 'calls'],
  properties: {
    run_id: { type: 'string' },
    node: { type: 'string' },
    node_type: { type: 'string' },
    input: { description: "the most recent call's resolved input; null when the node made no call" },
    reason: { type: 'string', description: 'why `input` is null' },
    kind: { type: 'string', enum: ['activity', 'child'] },
    scheduled_at: { type: 'string', format: 'date-time' },
    calls: { type: 'integer', description: "how many calls of the node the run's history holds" },
    items: { type: 'array', items: nodeCallSchema, description: "a map node's last 50 item calls, oldest first" },
  },
};

/** The answer of `GET /v1/runs/{run_id}/lineage` (`RunLineage` in interpreter/lineage.ts). */
const lineageSchema = {
  type: 'object',
  required: ['run_id', 'variables'],
  properties: {
    run_id: { type: 'string' },
    variables: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['writes', 'entries'],
        properties: {
          writes: { type: 'integer', minimum: 0, description: 'every write of the variable, including dropped ones' },
          entries: {
            type: 'array',
            maxItems: 20,
            items: {
              type: 'object',
              required: ['at', 'source', 'inputs'],
              properties: {
                at: { type: 'string', format: 'date-time' },
                node: { type: 'string', description: "absent for the run input and operators' variable patches" },
                node_type: { type: 'string' },
                source: { type: 'string', enum: ['input', 'default', 'node', 'operator'] },
                by: { type: 'string', description: 'the operator (or approver) behind the write' },
                inputs: { type: 'array', items: { type: 'string' } },
                iteration: { type: 'integer', minimum: 0, description: "the writing node's visit count" },
              },
            },
          },
        },
      },
    },
  },
};

function op(summary: string, responses: Record<string, unknown>, extra: Operation = {}): Operation {
  return { summary, ...extra, responses: { ...responses, ...always } };
}

function body(name: string, description?: string) {
  return {
    requestBody: { required: true, ...(description ? { description } : {}), content: jsonContent(schema(name)) },
  };
}

function paths(): Record<string, Record<string, Operation>> {
  return {
    '/healthz': { get: op('The process is up', { '200': { description: '`{ "status": "ok" }`' } }) },
    '/readyz': {
      get: op('Temporal and the definition store answer', {
        '200': { description: '`{ "status": "ready", "checks": { "temporal": "ok", "store": "ok" } }`' },
      }),
    },
    '/v1/openapi.json': { get: op('This document', { '200': { description: 'OpenAPI 3.1' } }) },
    '/docs': { get: op('This document as a readable page (Swagger UI)', { '200': { description: 'HTML' } }) },
    '/': {
      get: op('weft Studio, the web application (no credentials needed for the page; its API calls need a key)', {
        '200': { description: 'HTML' },
        '503': { description: 'the Studio was not built (`npm run build`)' },
      }),
    },
    '/studio/studio.js': { get: op("weft Studio's script bundle", { '200': { description: 'JavaScript' } }) },
    '/studio/studio.css': { get: op("weft Studio's style sheet", { '200': { description: 'CSS' } }) },
    '/studio/elk-worker.js': {
      get: op("weft Studio's graph layout (elkjs), run as a Web Worker", { '200': { description: 'JavaScript' } }),
    },
    '/v1/schema/definition.json': {
      get: op('The definition language as JSON Schema (draft 2020-12)', { '200': { description: 'JSON Schema' } }),
    },
    '/v1/schema/template.json': {
      get: op('The template language as JSON Schema (draft 2020-12)', { '200': { description: 'JSON Schema' } }),
    },
    '/v1/definitions/validate': {
      post: op(
        'Validate a definition without storing it',
        {
          '200': ok(
            'valid; `warnings` lists what is probably a mistake but does not stop a submit',
            'ValidationResult',
          ),
          ...bodyErrors,
        },
        body('Definition'),
      ),
    },
    '/v1/definitions/test': {
      post: op(
        'Test a definition with mocked outputs: the real engine, nothing stored, no call but those `allow_calls` allows',
        {
          '200': ok(
            'the test run: status, path, nodes, variables, result (as in the run state). Every task, ai, subworkflow and map item is answered from `mocks`, events and approvals too; an unmocked one fails its node with `NotMocked`, except the task nodes `allow_calls` names, which make their calls for real (egress policy applied); timers fire at once',
            'DefinitionTestResult',
          ),
          ...bodyErrors,
          '404': err('NotFound'),
          '409': err('Rejected'),
        },
        body('DefinitionTestBody'),
      ),
    },
    '/v1/definitions/{id}/what-if': {
      post: op(
        'What-if replay: re-execute recorded runs on a candidate version, with their recorded outcomes as mocks',
        {
          '200': ok(
            'per run: `same` path, `different` path (with where it diverges) or `cannot_run` (a node the recording has no outcome for). Nothing is called, stored or started',
            'WhatIfReport',
          ),
          ...bodyErrors,
          '404': err('NotFound'),
        },
        { ...body('WhatIfBody'), parameters: [id] },
      ),
    },
    '/v1/definitions': {
      post: op(
        'Submit a definition as its next version',
        {
          '201': ok('stored as a new version', 'SubmitResult'),
          '200': ok('identical to the latest version: nothing stored (`created: false`)', 'SubmitResult'),
          ...bodyErrors,
        },
        {
          ...body('Definition'),
          description:
            'Also brings the Temporal Schedules of the definition in step with its active version; a 503 then means the version is stored and the request can be repeated.',
        },
      ),
      get: op('List definitions', { '200': ok('every definition', 'DefinitionList') }),
    },
    '/v1/definitions/{id}': {
      get: op(
        "The active version's definition",
        { '200': ok('the definition with `version` set', 'StoredDefinition'), '404': err('NotFound') },
        { parameters: [id] },
      ),
    },
    '/v1/definitions/{id}/versions': {
      get: op(
        'The versions of a definition',
        { '200': ok('oldest first', 'VersionList'), '404': err('NotFound') },
        { parameters: [id] },
      ),
    },
    '/v1/definitions/{id}/versions/{version}': {
      get: op(
        'One version of a definition',
        { '200': ok('that version', 'StoredDefinition'), '404': err('NotFound') },
        { parameters: [id, pathParam('version', 'version, such as "3"')] },
      ),
    },
    '/v1/definitions/{id}/versions/{a}/diff/{b}': {
      get: op(
        'What changed from version a to version b',
        { '200': ok('the changes', 'DefinitionDiff'), '400': err('BadRequest'), '404': err('NotFound') },
        {
          parameters: [id, pathParam('a', 'the older version'), pathParam('b', 'the newer version')],
          description:
            'Nodes are matched by id, edges by from + to + on; `fields` lists changed name, description, variables, options, triggers and error_handlers. Key order never counts as a change.',
        },
      ),
    },
    '/v1/definitions/{id}/stats': {
      get: op(
        'Run statistics of a definition over a time window',
        {
          '200': {
            description:
              '`{ definition_id, window, since, until, runs: { closed, completed, failed, cancelled }, success_rate, duration_ms: { p50, p95, max } | null, errors: [{ type, count }], cost_usd, examined, limit, truncated, unreadable }`',
          },
          '400': err('BadRequest'),
          '404': err('NotFound'),
        },
        {
          parameters: [
            id,
            {
              name: 'window',
              in: 'query',
              schema: { type: 'string', pattern: '^[1-9][0-9]{0,5}(m|h|d)$', default: '24h' },
              description: 'how far back to look at closed runs: 30m, 1h, 24h, 7d (at most 90d)',
            },
          ],
          description:
            "Without replaying runs: counts and durations from Temporal visibility (runs closed in the window: status, start and close time), a failed run's error type from its close event; only `cost_usd` needs a run's `state` query (a replay by a worker), asked only of runs whose version has an `ai` or `subworkflow` node (or a map of one), the others cost 0. At most `limit` (500) of the most recently closed runs are examined; `truncated` says when more closed. `success_rate` is completed / (completed + failed): cancelled runs do not count.",
        },
      ),
    },
    '/v1/definitions/{id}/active': {
      put: op(
        'Choose the active version',
        { '200': ok('the active version', 'ActiveVersion'), '404': err('NotFound'), ...bodyErrors },
        {
          parameters: [id],
          ...body('SetActiveBody'),
          description:
            'New runs, schedules and webhooks use the active version. Its schedule triggers replace the Temporal Schedules of the previous one.',
        },
      ),
    },
    '/v1/definitions/{id}/runs': {
      post: op(
        'Start a run',
        {
          '201': ok('started', 'StartedRun'),
          '200': ok('this run_id already names a run with the same version and input: that run', 'StartedRun'),
          '202': ok(
            'the version has options.debounce: the start joined a burst, which becomes one run with the last input once the window passes quietly; no run exists yet',
            'DebouncedRun',
          ),
          '404': err('NotFound'),
          '409': err('Conflict'),
          ...bodyErrors,
        },
        {
          parameters: [id],
          ...body('StartRunBody'),
          description:
            'Under options.max_concurrent_runs with on_limit "skip", a start while the limit is reached (for its key) answers 409 conflict with a problem at /options/max_concurrent_runs naming the key, and nothing starts; with "queue" the run starts and waits before its first node (`queued` in its state). A caller-chosen run_id is refused (400 /run_id) for a debounced version. Beyond the tenant\'s running runs allowed (`concurrent_runs` quota, the admission limit) the start answers 429 rate_limited with Retry-After and starts nothing; repeating an existing run_id is answered as above, never refused.',
        },
      ),
    },
    '/v1/runs': {
      get: op(
        'List runs (Temporal visibility; eventually consistent)',
        { '200': ok('one page, newest first', 'RunList'), '400': err('BadRequest') },
        {
          parameters: [
            { name: 'definition_id', in: 'query', schema: { type: 'string' } },
            {
              name: 'version',
              in: 'query',
              schema: { type: 'string', pattern: '^[1-9][0-9]{0,9}$' },
              description:
                'only runs of this version of the definition (the `WeftDefinitionVersion` search attribute); needs `definition_id`',
            },
            {
              name: 'status',
              in: 'query',
              schema: { type: 'string', enum: ['running', 'paused', 'completed', 'failed', 'cancelled'] },
              description: '`running` also lists paused runs (listed with status `paused`)',
            },
            {
              name: 'started_after',
              in: 'query',
              schema: { type: 'string', format: 'date-time' },
              description:
                'only runs started at or after this instant (RFC 3339 with `Z` or an offset; encode `+` as `%2B`)',
            },
            {
              name: 'started_before',
              in: 'query',
              schema: { type: 'string', format: 'date-time' },
              description:
                'only runs started before this instant (exclusive; RFC 3339); not earlier than `started_after`',
            },
            {
              name: 'page_token',
              in: 'query',
              schema: { type: 'string' },
              description: 'next_page_token of the previous page',
            },
            { name: 'page_size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
          ],
        },
      ),
    },
    '/v1/runs/{run_id}': {
      get: op(
        'The run state',
        { '200': ok('running or closed', 'RunState'), '404': err('NotFound') },
        { parameters: [runId] },
      ),
    },
    '/v1/runs/{run_id}/result': {
      get: op(
        "The run's outcome",
        {
          '200': ok('`status`, and `result` or `error` once closed', 'RunResult'),
          '400': err('BadRequest'),
          '404': err('NotFound'),
        },
        {
          parameters: [
            runId,
            {
              name: 'wait',
              in: 'query',
              schema: { type: 'string', enum: ['true', 'false'] },
              description: 'wait up to 60 s',
            },
          ],
        },
      ),
    },
    '/v1/runs/{run_id}/lineage': {
      get: op(
        'Data lineage: which node wrote each variable, from which inputs, and when',
        {
          '200': {
            description: 'every variable of the run with its latest writes, oldest first (running or closed)',
            content: jsonContent(lineageSchema),
          },
          '404': err('NotFound'),
        },
        {
          parameters: [runId],
          description:
            "Each write names its `source` (`input`, `default`, `node` or `operator`), the writing `node` and `node_type`, the node's visit count as `iteration`, the operator as `by`, and `inputs`: the static references of the expressions or templates the value came from (`vars.order`, `input.sku`, `nodes.fetch.output`, `event:<type>`). The last 20 writes per variable are kept; `writes` counts them all. `at` is the engine's time of the write. Runs started before lineage was recorded report no writes.",
        },
      ),
    },
    '/v1/runs/{run_id}/nodes/{node}/input': {
      get: op(
        "The resolved input of a node's most recent call, read from the run's history",
        {
          '200': {
            description: 'the input the node was last called with, or null with the reason it made no call',
            content: jsonContent(nodeInputSchema),
          },
          '404': err('NotFound'),
        },
        {
          parameters: [runId, pathParam('node', 'node id')],
          description:
            "Read from the run's Temporal history (through the payload codec): a task node's rendered params (the connector call), an AI node's model, system and prompt, a subworkflow node's child input. A map node answers its most recent item call as `input` and the last 50 item calls, oldest first, as `items` (`index` where the history tells it: child runs); `calls` counts them all. A node evaluated by the engine (set, condition, join, end, wait, event, approval, ...) answers `input: null` with a `reason`, as does a calling node not called yet. Secret-derived values show as `\"***\"` as in the state view; `secret:NAME` references show unresolved. Only the current run of a continued-as-new run is read. 404: no such run, or no such node in its definition.",
        },
      ),
    },
    ...controlPaths(),
    '/v1/audit': {
      get: op(
        'The audit log of mutations made through the gateway, newest first',
        {
          '200': {
            description: `\`{ items: [{ at, actor, action, target, request_id, status, error_code? }] }\`; \`action\` is one of ${AUDIT_ACTIONS.join(', ')} (a mutating route not named so is logged under its route key, such as \`POST /v1/runs/{run_id}/terminate\`)`,
          },
          '400': err('BadRequest'),
        },
        {
          parameters: [
            { name: 'actor', in: 'query', schema: { type: 'string' } },
            { name: 'action', in: 'query', schema: { type: 'string' } },
            {
              name: 'target',
              in: 'query',
              schema: { type: 'string' },
              description: 'definition id, run id, or event type (event.deliver)',
            },
            {
              name: 'since',
              in: 'query',
              schema: { type: 'string', format: 'date-time' },
              description: 'entries at or after this time',
            },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
        },
      ),
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics of this gateway (text exposition format)',
        responses: {
          '200': {
            description: 'text/plain; version=0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...always,
        },
      },
    },
    '/v1/hooks/{definition_id}': {
      post: op(
        'Start a run from a webhook',
        {
          '202': {
            description:
              'started (StartedRun), or, for a version with options.debounce, joined a burst (DebouncedRun); under options.max_concurrent_runs with on_limit "skip" a start past the limit answers 409',
            content: jsonContent({ oneOf: [schema('StartedRun'), schema('DebouncedRun')] }),
          },
          '409': err('Conflict'),
          '401': err('Unauthorized'),
          '404': err('NotFound'),
          ...bodyErrors,
        },
        {
          parameters: [
            pathParam('definition_id', 'definition id'),
            {
              name: 'X-Signature',
              in: 'header',
              schema: { type: 'string', pattern: '^sha256=[0-9a-fA-F]{64}$' },
              description:
                'required when the webhook trigger names a `secret` (or send an API key instead): `sha256=` and the hex HMAC-SHA256, keyed with the secret, of `<X-Signature-Timestamp>.<raw body>`, or of the raw body alone when no `X-Signature-Timestamp` is sent',
            },
            {
              name: 'X-Signature-Timestamp',
              in: 'header',
              schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
              description:
                'optional by default, recommended: the unix time of signing in seconds, covered by `X-Signature`, within 5 minutes of the gateway clock; each such signed request is accepted once. Without it, `X-Signature` covers the raw body alone (the form of the HTTP contract): accepted by default, refused as replayed (`401`) for 5 minutes after it was first accepted, then accepted again, so it can be replayed every 5 minutes. A gateway with `WEFT_WEBHOOK_BODY_ONLY_SIGNATURES=refuse` requires this header and answers `401` naming it when it is missing.',
            },
          ],
          requestBody: {
            required: false,
            description: 'the run input: an object of variable values, checked against the declared variables',
            content: jsonContent({ type: 'object' }),
          },
          description:
            'The active version must have a `webhook` trigger. A trigger `secret` is the name of an environment variable of the gateway that holds the shared secret. Without credentials, a missing hook, a hook without a secret and a bad, stale or replayed signature all answer `401`.',
        },
      ),
    },
  };
}

/** A request body described by the zod schema the route parses it with. */
function zodBody(schema: z.ZodType, description?: string) {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return { requestBody: { required: false, ...(description ? { description } : {}), content: jsonContent(json) } };
}

const accepted = { '202': { description: '`{ "accepted": true }`' } };
const refused = { '404': err('NotFound'), '409': err('Conflict'), ...bodyErrors };

/** Operator actions and events (control-routes.ts). */
function controlPaths(): Record<string, Record<string, Operation>> {
  const action = (verb: keyof typeof bodies, summary: string, description?: string) => ({
    post: op(
      summary,
      { ...accepted, ...refused },
      { parameters: [runId], ...zodBody(bodies[verb]), ...(description ? { description } : {}) },
    ),
  });
  return {
    '/v1/runs/{run_id}/pause': action('pause', 'Pause: no new node starts; in-flight ones finish'),
    '/v1/runs/{run_id}/resume': action(
      'resume',
      'Resume a paused run',
      "`max_cost_usd` raises the run's AI budget: the node and map items the budget held back start (without a raise a run paused by its budget pauses again at its next model call).",
    ),
    '/v1/runs/{run_id}/cancel': action(
      'cancel',
      'Cancel: in-flight work is cancelled, status cancelled',
      'The run takes the cancellation itself (recorded with who cancelled) and Temporal cancels it. A run that cannot take it within 10 s (its workflow task keeps failing) is cancelled through Temporal alone. `force: true` terminates the run through Temporal at once, without its cooperation: nothing in it runs again (no compensation).',
    ),
    '/v1/runs/{run_id}/retry': action(
      'retry',
      'Retry a failed node',
      "Of a paused run: the failed node runs again. Of a closed failed run: a new run starts from the failed node with the recorded variables and outputs; its id comes back as `run_id` (`<run>.retry-<n>`, linked by `retry_of` / `retried_by`). `version` runs the rest of the run on that version of the definition, node state mapped by node id (a closed run: the new run; a paused run: it continues as new on the version, once nothing runs outside the retried nodes): 404 naming `/version` when it does not exist, 409 `rejected` with every problem in `details` when it cannot take the run's state (the failed node or another active node missing, a variable whose declared type changed or whose value does not fit it, a variable no longer secret, a join holding an arrival along an edge the version lacks). A compensated run (a `compensate` handler undid its completed steps) is refused with 409, saying it was compensated.",
    ),
    '/v1/runs/{run_id}/rerun': {
      post: op(
        'Rerun a paused or closed run from a node',
        {
          '202': {
            description:
              '`{ "accepted": true, "run_id" }`: the run that reruns (the same run when it was paused; a new run `<run>.rerun-<n>` when it was closed)',
          },
          ...refused,
        },
        {
          parameters: [runId],
          ...zodBody(Rerun),
          description:
            "`from` and every node downstream of it (along any edge) run again, from pending; the other nodes' records and outputs and the variables are kept (a variable only repeated nodes wrote goes back to its start value), `variables` override (checked like a variable patch: 400 naming `/variables/<name>`). A paused run reruns itself (nodes of the rerun still in flight are cancelled); a closed run (completed, failed or cancelled) goes on in a new run linked both ways (`rerun_of` in its state and memo, `WeftRerunOf`, the original's `rerun_by`). `version` runs it on that version, node state mapped by node id, refused as for retry (a paused run continues as new on it, once nothing runs outside what the rerun repeats). 400 naming `/from` for a node the version does not have; 404 for an unknown run or version; 409 `rejected` for a running run (pause it first), a compensated run, a failure or an unfinished node outside what the rerun repeats, or a version that cannot take the state.",
        },
      ),
    },
    '/v1/runs/{run_id}/skip': action(
      'skip',
      'Skip a pending, running, waiting or failed node, optionally with its output',
      "A running node's work is cancelled (its activity gets the cancellation within seconds and its connector or model call is aborted; a child run is cancelled; a map's items in flight too) and the node completes `skipped` with `output`, its success edges followed.",
    ),
    '/v1/runs/{run_id}/variables': {
      patch: op(
        'Set variables (checked against their declared types)',
        { '200': { description: '`{ "variables": { … } }`, the run\'s variables after the change' }, ...refused },
        { parameters: [runId], ...zodBody(Variables) },
      ),
    },
    '/v1/runs/{run_id}/approvals/{node}': {
      post: op(
        'Decide a waiting approval node',
        { ...accepted, ...refused },
        {
          parameters: [runId, pathParam('node', 'the approval node id')],
          ...zodBody(Approval),
          description:
            "The caller must be listed in the node's `approvers` by its id (`key:<name>`, `jwt:<subject>`) or by a role it holds (its roles grant at least that role's permissions: `admin` holds every role); absent `approvers`: any caller with the approve permission. With `quorum` n, n distinct callers must approve (the node keeps waiting until then; a second approval by the same caller is 409); one rejection rejects. With `forbid_self_approval`, the approval of the caller who started the run is 409. 409 also when the node is not waiting.",
        },
      ),
    },
    '/v1/events': {
      post: op(
        'Accept an event for the runs waiting for it (now or within the retention window) and start runs of event triggers',
        {
          '202': {
            description:
              '`{ "event_id", "delivered_to": [run ids], "started": [run ids] }`: the event is durable in its mailbox (tenant, type, correlation key) when this is answered; `delivered_to` lists the runs the mailbox sent it to by then (runs that wait later still get it); `event_id` is the caller\'s or one the gateway gave it. Answered within 15 s; while Temporal is at a limit or recovering, `429 rate_limited` or `503 unavailable` with `Retry-After` (send the event again with the same `event_id`); an event under the body limit whose envelope passes Temporal\'s 2 MiB blob limit is `413 payload_too_large` naming `/payload`, any other invalid-argument refusal `400`, and every other Temporal refusal `503` with `Retry-After` (never `500`)',
          },
          ...bodyErrors,
        },
        { ...zodBody(EventBody) },
      ),
    },
  };
}

/** The remote codec endpoint (codec-routes.ts), served only when `WEFT_CODEC_KEYS` is set. */
function codecPaths(): Record<string, Record<string, Operation>> {
  const { $schema: _drop, ...payloads } = z.toJSONSchema(CodecBody, { io: 'input' });
  const codecOp = (summary: string, description: string) => ({
    post: op(
      summary,
      {
        '200': { description: 'the payloads, in the same order and form', content: jsonContent(payloads) },
        '401': err('Unauthorized'),
        '404': err('NotFound'),
        ...bodyErrors,
      },
      {
        description: `${description} Temporal's remote codec protocol: payloads in protobuf's JSON form (metadata values and data in base64). Browsers on the Web UI's origin (\`TEMPORAL_UI_URL\`) may call it with credentials (CORS).`,
        parameters: [
          {
            name: 'X-Namespace',
            in: 'header',
            required: true,
            schema: { type: 'string' },
            description: 'the Temporal namespace of the payloads; a namespace without a codec answers 404',
          },
        ],
        requestBody: { required: true, content: jsonContent(payloads) },
      },
    ),
  });
  return {
    '/codec/encode': codecOp('Encrypt payloads', 'Encrypts each payload with the current key.'),
    '/codec/decode': codecOp(
      'Decrypt payloads',
      'Decrypts each encrypted payload with the key it names; other payloads come back unchanged. A payload that cannot be decrypted (unknown key, altered data) answers 400 naming it.',
    ),
  };
}

const errorResponse = (description: string) => ({ description, content: jsonContent(schema('Error')) });

/**
 * The params of every connector action, as `ConnectorParams_<connector>_<action>`: what a task
 * node's `inputs` must render to (checked at submit as far as literals go, and at run time).
 */
function connectorSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [connector, actions] of Object.entries(new ConnectorRegistry().paramsSchemas())) {
    for (const [action, json] of Object.entries(actions)) {
      const { $schema: _drop, ...schema } = json;
      out[`ConnectorParams_${connector}_${action}`] = {
        ...schema,
        description: `inputs of a task with connector "${connector}", action "${action}"`,
      };
    }
  }
  return out;
}

const documents = new Map<boolean, Record<string, unknown>>();

/** The document (with the codec routes when the gateway serves them); built once per variant. */
export function openApiDocument(options: { codec?: boolean } = {}): Record<string, unknown> {
  const codec = options.codec ?? false;
  let document = documents.get(codec);
  document ??= {
    openapi: '3.1.0',
    info: {
      title: 'weft gateway',
      version: '1',
      description:
        'Graph workflow definitions and their runs on Temporal. Every error has the shape `{ "error": { "code", "message", "details"? } }`; `details` name each problem with a JSON Pointer.',
    },
    paths: withRateLimit(
      withAccess({
        ...paths(),
        ...templatePaths(),
        ...connectionPaths(),
        ...accessPaths(),
        ...(codec ? codecPaths() : {}),
      }),
    ),
    security: [{ bearer: [] }],
    components: {
      schemas: { ...componentSchemas(), ...connectorSchemas(), ...connectionSchemas() },
      securitySchemes,
      responses: {
        Forbidden: errorResponse(
          "`forbidden`: the caller's roles lack the permission the operation needs (`x-weft-permission`), or a rule such as four-eyes refuses it",
        ),
        BadRequest: errorResponse('`validation_failed`: the request is invalid; `details` name every problem'),
        Unauthorized: errorResponse('`unauthorized`: missing or invalid credentials or signature'),
        NotFound: errorResponse(
          '`not_found`; also every path that is not the one canonical spelling of a route (another letter case, percent-encoding, `//`, a trailing `/`, dot segments), before authentication',
        ),
        Conflict: errorResponse('`conflict`'),
        Rejected: errorResponse(
          '`rejected`: the request cannot be carried out as asked; the message says why (on `POST /v1/definitions/test`: the test run took more than 10,000 steps, a loop its mocks keep going, say)',
        ),
        PayloadTooLarge: errorResponse(
          '`payload_too_large`: the body exceeds `WEFT_MAX_BODY_BYTES` (2 MiB by default); the message states the limit in bytes',
        ),
        RateLimited: {
          ...errorResponse(
            "`rate_limited`: this caller (API key, else client address) made too many requests (only when `WEFT_RATE_LIMIT` is set); on a start (`POST /v1/definitions/{id}/runs`, `POST /v1/hooks/{definition_id}`, a run an event triggers) the tenant's `concurrent_runs` quota is reached (the admission limit; nothing was started; `Retry-After: 5`); on `POST /v1/events` also while Temporal is at a limit",
          ),
          headers: {
            'Retry-After': { description: 'seconds until a request will be accepted', schema: { type: 'integer' } },
          },
        },
        UnsupportedMediaType: errorResponse('`unsupported_media_type`: unsupported body encoding or charset'),
        Unavailable: {
          ...errorResponse('`unavailable`: Temporal or the definition store cannot be reached; retry later'),
          headers: {
            'Retry-After': {
              description: 'seconds to wait before retrying, when the gateway knows (POST /v1/events)',
              schema: { type: 'integer' },
            },
          },
        },
      },
    },
  };
  documents.set(codec, document);
  return document;
}
