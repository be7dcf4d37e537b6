/**
 * The OpenAPI 3.1 document of the gateway, served at `GET /v1/openapi.json`. A test walks the
 * express router and fails when a route is missing here (or documented but not served).
 */
import { z } from 'zod';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { Approval, EventBody, Variables, bodies } from './control-routes.js';
import { componentSchemas } from './openapi-schemas.js';

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
/** Errors of requests with a body. */
const bodyErrors = { '400': err('BadRequest'), '413': err('PayloadTooLarge'), '415': err('UnsupportedMediaType') };

const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const id = pathParam('id', 'definition id');
const runId = pathParam('run_id', 'run id (the Temporal workflow id)');

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
    '/v1/schema/definition.json': {
      get: op('The definition language as JSON Schema (draft 2020-12)', { '200': { description: 'JSON Schema' } }),
    },
    '/v1/definitions/validate': {
      post: op(
        'Validate a definition without storing it',
        { '200': { description: '`{ "valid": true }`' }, ...bodyErrors },
        body('Definition'),
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
            "From Temporal visibility (runs closed in the window: status, start and close time) and each run's `state` query (error type, `cost.usd`). At most `limit` (500) of the most recently closed runs are examined; `truncated` says when more closed. `success_rate` is completed / (completed + failed): cancelled runs do not count.",
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
          '404': err('NotFound'),
          '409': err('Conflict'),
          ...bodyErrors,
        },
        { parameters: [id], ...body('StartRunBody') },
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
              name: 'status',
              in: 'query',
              schema: { type: 'string', enum: ['running', 'completed', 'failed', 'cancelled'] },
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
    ...controlPaths(),
    '/v1/audit': {
      get: op(
        'The audit log of mutations made through the gateway, newest first',
        {
          '200': {
            description:
              '`{ items: [{ at, actor, action, target, request_id, status, error_code? }] }`; `action` is one of definition.submit, definition.activate, run.start, webhook.start, run.pause, run.resume, run.cancel, run.retry, run.skip, run.set_variables, run.approve, event.deliver',
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
          '202': ok('started', 'StartedRun'),
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
              description: 'required when the webhook trigger names a `secret`: HMAC-SHA256 of the raw body',
            },
          ],
          requestBody: {
            required: false,
            description: 'the run input: an object of variable values, checked against the declared variables',
            content: jsonContent({ type: 'object' }),
          },
          description:
            'The active version must have a `webhook` trigger. A trigger `secret` is the name of an environment variable of the gateway that holds the shared secret.',
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
    '/v1/runs/{run_id}/resume': action('resume', 'Resume a paused run', "`max_cost_usd` raises the run's AI budget."),
    '/v1/runs/{run_id}/cancel': action('cancel', 'Cancel: in-flight work is cancelled, status cancelled'),
    '/v1/runs/{run_id}/retry': action(
      'retry',
      'Retry a failed node',
      'Of a paused run: the failed node runs again. Of a closed failed run: a new run starts from the failed node with the recorded variables and outputs; its id comes back as `run_id`.',
    ),
    '/v1/runs/{run_id}/skip': action('skip', 'Skip a pending, waiting or failed node, optionally with its output'),
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
        { parameters: [runId, pathParam('node', 'the approval node id')], ...zodBody(Approval) },
      ),
    },
    '/v1/events': {
      post: op(
        'Deliver an event to waiting runs and start runs of event triggers',
        {
          '202': { description: '`{ "delivered_to": [run ids], "buffered_in": [run ids], "started": [run ids] }`' },
          ...bodyErrors,
        },
        { ...zodBody(EventBody) },
      ),
    },
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

let document: Record<string, unknown> | undefined;

/** The document; built once. */
export function openApiDocument(): Record<string, unknown> {
  document ??= {
    openapi: '3.1.0',
    info: {
      title: 'weft gateway',
      version: '1',
      description:
        'Graph workflow definitions and their runs on Temporal. Every error has the shape `{ "error": { "code", "message", "details"? } }`; `details` name each problem with a JSON Pointer.',
    },
    paths: paths(),
    components: {
      schemas: { ...componentSchemas(), ...connectorSchemas() },
      responses: {
        BadRequest: errorResponse('`validation_failed`: the request is invalid; `details` name every problem'),
        Unauthorized: errorResponse('`unauthorized`: missing or invalid credentials or signature'),
        NotFound: errorResponse('`not_found`'),
        Conflict: errorResponse('`conflict`'),
        PayloadTooLarge: errorResponse('`payload_too_large`: the body exceeds the limit (2 MB by default)'),
        UnsupportedMediaType: errorResponse('`unsupported_media_type`: unsupported body encoding or charset'),
        Unavailable: errorResponse('`unavailable`: Temporal or the definition store cannot be reached; retry later'),
      },
    },
  };
  return document;
}
