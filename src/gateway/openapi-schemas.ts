/**
 * JSON Schemas of the gateway's bodies, for the OpenAPI document. The definition and the
 * request bodies the gateway parses with zod are generated from those zod schemas, so the
 * document cannot disagree with what the gateway accepts; response shapes are written here.
 */
import { z } from 'zod';
import { WorkflowDefinition } from '../../interpreter/definition-schema.js';
import { DIFFED_FIELDS } from './definition-diff.js';
import { SetActiveBody } from './definition-routes.js';
import type { ErrorCode } from '../shared/http-error.js';
import { RUN_STATUSES } from './run-listing.js';
import { StartRunBody } from './run-routes.js';
import { InstantiateBody, Template } from '../templates/template-schema.js';
import { EvaluateBody } from './expression-routes.js';
import { DefinitionTestBody } from './definition-test-routes.js';
import { WHAT_IF_LIMITS, WhatIfBody } from './what-if.js';
import { TEST_LIMITS } from '../../interpreter/definition-test.js';

type Schema = Record<string, unknown>;

/** A zod schema as an embeddable JSON Schema (no `$schema`; definitions moved under `#/components`). */
export function fromZod(schema: z.ZodType, name: string): { root: Schema; defs: Record<string, Schema> } {
  const {
    $schema: _dialect,
    $defs,
    ...root
  } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  const rename = (key: string) => `${name}_${key}`;
  // Internal `#/$defs/x` references would point at the OpenAPI document's root once embedded.
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
            ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}`
            : rewrite(v),
        ]),
      );
    }
    return value;
  };
  const defs = Object.fromEntries(
    Object.entries(($defs ?? {}) as Record<string, Schema>).map(([k, v]) => [rename(k), rewrite(v) as Schema]),
  );
  return { root: rewrite(root) as Schema, defs };
}

let definitionSchema: Schema | undefined;

/** The definition language as a standalone JSON Schema (draft 2020-12), served at `/v1/schema/definition.json`. */
export function definitionJsonSchema(): Schema {
  definitionSchema ??= withSchemaKey({
    $id: '/v1/schema/definition.json',
    title: 'weft workflow definition',
    ...z.toJSONSchema(WorkflowDefinition, { io: 'input', unrepresentable: 'any' }),
  });
  return definitionSchema;
}

let templateSchema: Schema | undefined;

/** The template language as a standalone JSON Schema (draft 2020-12), served at `/v1/schema/template.json`. */
export function templateJsonSchema(): Schema {
  templateSchema ??= {
    $id: '/v1/schema/template.json',
    title: 'weft template',
    description:
      'A parameterised definition: `{ "$param": "<name>" }` anywhere in `definition` is replaced by that parameter\'s value, as a whole JSON value. `definition` is a definition (/v1/schema/definition.json) without `id` and `version`.',
    ...z.toJSONSchema(Template, { io: 'input', unrepresentable: 'any' }),
  };
  return templateSchema;
}

/** A definition may name its JSON Schema in `"$schema"` (validation takes it off and ignores it). */
function withSchemaKey(schema: Schema): Schema {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  return {
    ...schema,
    properties: {
      $schema: { type: 'string', description: 'the JSON Schema this file follows, for editors; ignored' },
      ...properties,
    },
  };
}

const ERROR_CODES: ErrorCode[] = [
  'validation_failed',
  'not_found',
  'conflict',
  'unauthorized',
  'forbidden',
  'rejected',
  'unavailable',
  'payload_too_large',
  'rate_limited',
  'unsupported_media_type',
  'method_not_allowed',
  'internal',
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string) => ({ type: 'string', ...(description ? { description } : {}) });
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
});
const list = (items: unknown) => obj({ items: { type: 'array', items } });

/** Every schema of `components.schemas`. */
export function componentSchemas(): Record<string, unknown> {
  const zodDefinition = fromZod(WorkflowDefinition, 'Definition');
  const definition = { ...zodDefinition, root: withSchemaKey(zodDefinition.root) };
  const startRun = fromZod(StartRunBody, 'StartRunBody');
  const setActive = fromZod(SetActiveBody, 'SetActiveBody');
  const template = fromZod(Template, 'Template');
  const instantiate = fromZod(InstantiateBody, 'InstantiateBody');
  const evaluate = fromZod(EvaluateBody, 'EvaluateBody');
  const definitionTest = fromZod(DefinitionTestBody, 'DefinitionTestBody');
  const whatIf = fromZod(WhatIfBody, 'WhatIfBody');
  const run = {
    run_id: str('the Temporal workflow id'),
    instance_id: str('the Temporal run id of the first execution'),
    definition_id: str(),
    definition_version: str(),
  };
  const itemDiff = (item: string, identity: Record<string, unknown>) =>
    obj({
      added: { type: 'array', items: ref(item) },
      removed: { type: 'array', items: ref(item) },
      changed: {
        type: 'array',
        items: obj({
          ...identity,
          fields: { type: 'array', items: str(), description: 'the properties whose values differ' },
          before: ref(item),
          after: ref(item),
        }),
      },
    });
  return {
    ...definition.defs,
    ...startRun.defs,
    ...setActive.defs,
    ...template.defs,
    ...instantiate.defs,
    ...evaluate.defs,
    ...definitionTest.defs,
    ...whatIf.defs,
    Template: {
      ...template.root,
      description:
        'a parameterised definition: `{ "$param": "<name>" }` anywhere in `definition` is replaced by that parameter\'s value, as a whole JSON value',
    },
    StoredTemplate: {
      allOf: [
        ref('Template'),
        obj(
          {
            builtin: {
              type: 'boolean',
              description: 'part of the starter library: listed for every tenant, read-only',
            },
            created_at: { type: 'string', format: 'date-time' },
            created_by: str(),
          },
          ['builtin'],
        ),
      ],
    },
    TemplateList: list(
      obj(
        {
          id: str(),
          name: str(),
          description: str(),
          parameters: (template.root.properties as Record<string, unknown>).parameters,
          builtin: { type: 'boolean' },
          created_at: { type: 'string', format: 'date-time' },
          created_by: str(),
        },
        ['id', 'name', 'parameters', 'builtin'],
      ),
    ),
    InstantiateBody: instantiate.root,
    EvaluateBody: evaluate.root,
    Problem: obj({ path: str('JSON Pointer into the request (body, /path/…, /query/…, /headers/…)'), message: str() }),
    Error: obj({
      error: obj(
        {
          code: { type: 'string', enum: ERROR_CODES },
          message: str(),
          details: { type: 'array', items: ref('Problem') },
        },
        ['code', 'message'],
      ),
    }),
    Definition: definition.root,
    StoredDefinition: {
      description: 'a stored version: the definition with defaults filled in and `version` set',
      allOf: [ref('Definition'), { required: ['version'] }],
    },
    Node: (definition.root.properties as Record<string, { items?: unknown }>).nodes?.items ?? {},
    Edge: (definition.root.properties as Record<string, { items?: unknown }>).edges?.items ?? {},
    SubmitResult: obj(
      {
        id: str(),
        version: str(),
        created: { type: 'boolean' },
        warnings: { type: 'array', items: ref('Problem'), description: 'present when the definition has warnings' },
      },
      ['id', 'version', 'created'],
    ),
    DefinitionTestBody: definitionTest.root,
    WhatIfBody: whatIf.root,
    DefinitionTestResult: obj(
      {
        status: {
          type: 'string',
          enum: ['running', 'paused', 'completed', 'failed', 'cancelled'],
          description: 'as in the run state; `paused` when options.on_failure paused it at a failed node',
        },
        path: {
          type: 'array',
          items: str(),
          description:
            'node ids in the order they ran (started, or completed at once); a node that ran again is listed again',
        },
        nodes: {
          type: 'object',
          description: 'as in the run state: status, attempts, output, error per node (secret-derived values masked)',
          additionalProperties: { type: 'object' },
        },
        variables: { type: 'object', description: 'the final variables, as in the run state (secrets masked)' },
        result: { description: 'the run result when it completed; null otherwise' },
        error: obj({ type: str(), message: str(), node: str() }, ['type', 'message']),
        pause_reason: str(),
        compensations: {
          type: 'array',
          description:
            "the compensations a `compensate` handler ran, in order (answered from the task's `compensation` mock)",
          items: obj({ node: str(), status: { type: 'string', enum: ['completed', 'failed'] } }),
        },
        history: { type: 'array', items: { type: 'object' }, description: 'transitions, as in the run state' },
        steps: {
          type: 'integer',
          minimum: 1,
          maximum: TEST_LIMITS.steps,
          description: `engine steps the test took (answered commands, events, decisions, timers); at most ${TEST_LIMITS.steps}`,
        },
      },
      ['status', 'path', 'nodes', 'variables', 'result', 'compensations', 'history', 'steps'],
    ),
    WhatIfReport: obj(
      {
        definition_id: str(),
        version: str('the candidate version'),
        source_version: {
          type: ['string', 'null'],
          description: 'the version whose recorded runs were replayed; null when `runs` named them',
        },
        summary: obj({
          runs: { type: 'integer' },
          same: { type: 'integer' },
          different: { type: 'integer' },
          cannot_run: { type: 'integer' },
        }),
        runs: {
          type: 'array',
          description: 'one entry per replayed run, newest first (or in the order of `runs`)',
          items: obj(
            {
              run_id: str(),
              definition_version: str('the version the run ran on'),
              outcome: {
                type: 'string',
                enum: ['same', 'different', 'cannot_run'],
                description:
                  '`same`: the candidate ran the recorded path; `different`: another one (see `divergence`); `cannot_run`: see `missing` or `reason`',
              },
              recorded: obj({ status: str(), path: { type: 'array', items: str() } }),
              candidate: obj(
                {
                  status: str('as a definition test answers it'),
                  path: { type: 'array', items: str() },
                  error: obj({ type: str(), message: str(), node: str() }, ['type', 'message']),
                },
                ['status', 'path'],
              ),
              divergence: obj(
                {
                  node: {
                    type: ['string', 'null'],
                    description: 'the last node both paths ran before they split (null: from the first node on)',
                  },
                  index: { type: 'integer', description: 'index of the first difference in the paths' },
                  recorded: {
                    type: ['string', 'null'],
                    description: 'what the recorded run ran there (null: it ended)',
                  },
                  candidate: { type: ['string', 'null'], description: 'what the candidate ran there (null: it ended)' },
                },
                ['node', 'index', 'recorded', 'candidate'],
              ),
              missing: obj({ node: str(), message: str() }, ['node', 'message']),
              reason: str('why the run cannot be replayed, when no node is `missing`'),
              masked: {
                type: 'array',
                items: str(),
                description: 'nodes whose recorded outcome holds a masked (secret-derived) value, replayed as `***`',
              },
            },
            ['run_id', 'definition_version', 'outcome', 'recorded'],
          ),
        },
        unchecked: {
          type: 'array',
          items: str(),
          description: `runs not compared: the request spent its ${WHAT_IF_LIMITS.ms / 1000} s`,
        },
      },
      ['definition_id', 'version', 'source_version', 'summary', 'runs'],
    ),
    ValidationResult: obj({
      valid: { type: 'boolean', const: true },
      warnings: { type: 'array', items: ref('Problem') },
    }),
    DefinitionList: list(
      obj({ id: str(), latest_version: str(), active_version: str(), name: str() }, [
        'id',
        'latest_version',
        'active_version',
      ]),
    ),
    VersionList: list(obj({ version: str(), created_at: { type: 'string', format: 'date-time' }, created_by: str() })),
    SetActiveBody: setActive.root,
    ActiveVersion: obj({ id: str(), active_version: str() }),
    DefinitionDiff: obj({
      id: str(),
      from_version: str(),
      to_version: str(),
      identical: { type: 'boolean' },
      fields: {
        type: 'array',
        description: 'changed top-level fields; `before`/`after` are absent where the field is absent',
        items: obj({ field: { type: 'string', enum: DIFFED_FIELDS }, before: {}, after: {} }, ['field']),
      },
      nodes: itemDiff('Node', { id: str() }),
      edges: itemDiff('Edge', { from: str(), to: str(), on: { type: 'string', enum: ['success', 'error'] } }),
    }),
    StartRunBody: startRun.root,
    StartedRun: obj({ ...run, ui_url: { type: 'string', format: 'uri' } }),
    DebouncedRun: obj(
      {
        accepted: { type: 'boolean', const: true },
        debounced: { type: 'boolean', const: true },
        run_id: {
          type: 'string',
          description:
            'the run the burst becomes (every start of the burst is answered with it); GET /v1/runs/{run_id} answers 404 until the window passed and it started',
        },
        definition_id: str(),
        definition_version: {
          type: 'string',
          description: 'the version this start asked for; the run starts with the version of the last start',
        },
        starts_after: {
          type: 'string',
          format: 'date-time',
          description: 'the earliest the run starts: a later start of the burst restarts the window',
        },
        starts: { type: 'integer', minimum: 1, description: 'starts of this burst so far, this one included' },
      },
      ['accepted', 'debounced', 'run_id', 'definition_id', 'definition_version', 'starts_after', 'starts'],
    ),
    RunListItem: obj(
      {
        ...run,
        status: { type: 'string', enum: RUN_STATUSES },
        started_at: { type: 'string', format: 'date-time' },
        closed_at: { type: 'string', format: 'date-time' },
      },
      ['run_id', 'instance_id', 'definition_id', 'definition_version', 'status', 'started_at'],
    ),
    RunList: obj(
      {
        items: { type: 'array', items: ref('RunListItem') },
        next_page_token: str('pass as page_token, with the same filters, for the next page; absent on the last page'),
      },
      ['items'],
    ),
    RunState: {
      type: 'object',
      description: 'the run state of the definition-language contract (running and closed runs); secrets masked',
      properties: {
        workflow_id: str(),
        instance_id: str(),
        definition_id: str(),
        definition_version: str(),
        status: { type: 'string', enum: ['running', 'paused', 'completed', 'failed', 'cancelled'] },
        current_node: {
          type: ['string', 'null'],
          description: 'the most recently started node that is still active; null when none is',
        },
        active_nodes: {
          type: 'array',
          items: str(),
          description: 'the nodes running or waiting now (compensations excluded)',
        },
        variables: { type: 'object' },
        nodes: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: {
              status: {
                type: 'string',
                enum: ['pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'],
                description:
                  'cancelled: the run was cancelled while the node was pending, running or waiting; waiting on a task/ai node with resource_limits (max_concurrency, rate_per_second): it waits for a permit (see `permit`)',
              },
              cached: {
                type: 'boolean',
                description:
                  "true when the node's latest execution took its output from the result cache (a task's `cache`)",
              },
              items: {
                type: 'object',
                description:
                  "a map node's items, while it runs and once it completed: total, completed (the body returned), running (in flight now) and failed (a failed item ends the map at once, so 0 while it runs)",
                properties: {
                  total: { type: 'integer', minimum: 0 },
                  completed: { type: 'integer', minimum: 0 },
                  running: { type: 'integer', minimum: 0 },
                  failed: { type: 'integer', minimum: 0 },
                },
                required: ['total', 'completed', 'running', 'failed'],
              },
              permit: {
                type: 'object',
                description:
                  "present while executions of the node wait for a permit of its limiter (resource_limits.max_concurrency or rate_per_second across runs; the line is ordered by run priority, options.priority, FIFO within one): the first waiting one's concurrency key (null: none) and place in line (1: next; absent until the limiter said), and how many of this run wait (map items)",
                properties: {
                  key: { type: ['string', 'null'] },
                  position: { type: 'integer', minimum: 1 },
                  waiting: { type: 'integer', minimum: 1 },
                },
                required: ['key', 'waiting'],
              },
            },
          },
        },
        queued: {
          type: 'object',
          description:
            'present while the run waits for a run permit (options.max_concurrent_runs, on_limit "queue") before its first node: its key (null: none) and place in line (1: next; absent until the limiter said). The line is ordered by priority, then FIFO',
          properties: {
            for: { type: 'string', const: 'options.max_concurrent_runs' },
            key: { type: ['string', 'null'] },
            position: { type: 'integer', minimum: 1 },
          },
          required: ['for', 'key'],
        },
        history: {
          type: 'array',
          items: { type: 'object' },
          description:
            'transitions `{ at, node?, from?, to, by?, note? }`; `to: "cost_unknown"` notes (once per model) that a model without a price was called, so its calls count as 0 USD',
        },
        cost: {
          type: 'object',
          description:
            "AI cost of the run: its own calls and, once each child run ended, the child's whole cost (also in the subworkflow or map node's `cost`)",
          properties: {
            usd: { type: 'number' },
            tokens: { type: 'object', properties: { input: { type: 'integer' }, output: { type: 'integer' } } },
          },
        },
        pause_reason: {
          type: 'string',
          description:
            'why a paused run is paused; `budget_exceeded: …` when `options.max_cost_usd` (or the budget left by the parent run) stopped a model call',
        },
        ui_url: { type: 'string', format: 'uri', description: 'the run in the Temporal Web UI' },
        retry_of: { type: 'string', description: 'on a run started by retrying a closed failed run: that run' },
        rerun_of: { type: 'string', description: 'on a run started by rerunning a closed run from a node: that run' },
        retried_by: {
          type: 'array',
          items: str(),
          description: 'on a closed run: the runs that retried it, oldest first (from visibility, a moment late)',
        },
        rerun_by: {
          type: 'array',
          items: str(),
          description:
            'on a closed run: the runs that reran it from a node, oldest first (from visibility, a moment late)',
        },
      },
      required: ['workflow_id', 'definition_id', 'definition_version', 'status', 'variables', 'nodes'],
    },
    RunResult: obj(
      {
        status: { type: 'string', enum: ['running', 'paused', 'completed', 'failed', 'cancelled'] },
        result: {
          description:
            "once completed: the value of options.result, or of the end node's result, else the run's final variables (secret-derived values masked)",
        },
        error: obj({ type: str(), message: str(), node: str() }, ['type', 'message']),
      },
      ['status'],
    ),
  };
}
