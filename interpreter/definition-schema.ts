/**
 * The definition language v1 as zod schemas: one schema per concept, node kinds told apart
 * by their `type` discriminator. Types are derived with `z.infer`, never written twice.
 * Semantic checks that need the whole graph (dangling edges, duplicate ids, …) live in
 * `validate-definition.ts`.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

export const DEFINITION_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/**
 * Node ids and variable names are keys of plain objects in the run state, so a name of an
 * `Object.prototype` member would read the inherited member (a node "toString" was taken as
 * already recorded and never ran) and `__proto__` would replace the object's prototype. They are
 * refused in the pattern itself, so the served JSON Schema says so too.
 */
const PROTOTYPE_NAMES =
  'constructor|hasOwnProperty|isPrototypeOf|propertyIsEnumerable|toString|toLocaleString|valueOf|__proto__|__defineGetter__|__defineSetter__|__lookupGetter__|__lookupSetter__';
export const NODE_ID_PATTERN = new RegExp(`^(?!(?:${PROTOTYPE_NAMES})$)[A-Za-z][A-Za-z0-9_-]{0,63}$`);
const VARIABLE_NAME_PATTERN = new RegExp(`^(?!(?:${PROTOTYPE_NAMES})$)[A-Za-z_][A-Za-z0-9_]{0,63}$`);
const NODE_ID_MESSAGE =
  'expected a node id: a letter, then letters, digits, "_" or "-" (max 64), not a name of Object.prototype ("constructor", "toString", "valueOf", …)';
const VARIABLE_NAME_MESSAGE =
  'expected a variable name (letters, digits, _), not a name of Object.prototype ("constructor", "toString", "valueOf", "__proto__", …)';

export const Duration = z.union([z.number(), z.string()]).refine((value) => parseDuration(value) !== undefined, {
  message: 'expected a duration: milliseconds, or a string such as "250ms", "30s", "5m", "2h", "1d"',
});

/** A JSONata expression string; its syntax is checked by the validator, which knows where it sits. */
const Expression = z.string().min(1, 'expected a JSONata expression');

export const VariableType = z.enum(['string', 'number', 'boolean', 'object', 'array', 'any']);

export const WorkflowVariable = z.strictObject({
  name: z.string().regex(VARIABLE_NAME_PATTERN, VARIABLE_NAME_MESSAGE),
  type: VariableType,
  default: z.unknown().optional(),
  required: z.boolean().optional(),
  secret: z.boolean().optional(),
});

export const RetryPolicy = z.strictObject({
  max_attempts: z.int().min(1).optional(),
  initial_interval: Duration.optional(),
  backoff_coefficient: z.number().min(1).optional(),
  max_interval: Duration.optional(),
  non_retryable_errors: z.array(z.string()).optional(),
});

/** `rate_per_second` bounds: slower than one start in ~17 minutes, or faster than one limiter grants, means nothing. */
export const RATE_MIN = 0.001;
export const RATE_MAX = 100;
export const BURST_MAX = 1000;

const ResourceLimits = z.strictObject({
  max_concurrency: z.int().min(1).optional().meta({
    description:
      'At most this many executions of the node (each item of a map body counts) run at once across all runs of the definition (every version) in the tenant, per concurrency_key; the rest wait in line (FIFO within a run priority, options.priority), shown as "waiting" with their key and place in line. Held by a limiter workflow per (definition, node, key); see README "Flow control".',
  }),
  concurrency_key: Expression.optional().meta({
    description:
      'JSONata expression evaluated in the node\'s context (item/index in a map body) when the execution starts: max_concurrency and rate_per_second apply per value of it (42 and "42" are one key; null: the line without a key). Needs max_concurrency or rate_per_second.',
  }),
  rate_per_second: z
    .number()
    .min(RATE_MIN)
    .max(RATE_MAX)
    .optional()
    .meta({
      description: `At most this many starts per second of the node's executions (each item of a map body counts) across all runs of the definition (every version) in the tenant, per concurrency_key: a token bucket of \`burst\` starts refilled at this rate, kept by the node's limiter workflow on workflow time; executions over it wait in line like those over max_concurrency. ${RATE_MIN} to ${RATE_MAX}. With or without max_concurrency (both hold).`,
    }),
  burst: z
    .int()
    .min(1)
    .max(BURST_MAX)
    .optional()
    .meta({
      description: `How many starts may happen at once after an idle time: the size of rate_per_second's token bucket (1 to ${BURST_MAX}, default 1: starts at least 1/rate_per_second apart). Needs rate_per_second.`,
    }),
  memory_mb: z.int().min(1).optional().meta({
    description:
      "MB each execution of the node (each item of a map body) reserves from the memory budget of the worker process that runs it (WEFT_WORKER_MEMORY_MB, default half the host's memory): the connector or model call starts only while the memory_mb of the calls running on that worker plus this fit in the budget, and waits in line (first come, first served; cancellable) until then. An admission weight per worker process, not a cluster-wide limit nor a measurement. More than the worker's whole budget: the call fails at once, not retried, with MemoryBudgetExceeded.",
  }),
});

const nodeBase = {
  id: z.string().regex(NODE_ID_PATTERN, NODE_ID_MESSAGE),
  name: z.string().optional(),
  output: z.string().regex(VARIABLE_NAME_PATTERN, VARIABLE_NAME_MESSAGE).optional(),
};

/** Local calls are short: their `timeout` defaults to this and may not exceed LOCAL_MAX_TIMEOUT_MS (README "Local execution"). */
export const LOCAL_DEFAULT_TIMEOUT_MS = 10_000;
export const LOCAL_MAX_TIMEOUT_MS = 60_000;

export const ExecutionMode = z.enum(['activity', 'local']);

const EXECUTION_DESCRIPTION = `How the connector call runs. "activity" (default): a Temporal activity, scheduled on a task queue (about 6 history events). "local": a Temporal local activity, run by the worker that runs the workflow, inside its workflow task (one MarkerRecorded event per attempt that settles, consecutive local steps in one workflow task); at least once (a worker crash repeats every local call of the workflow task it was in), retried under retry_policy (backoffs up to 10s inside the worker, longer ones on a durable timer), timeout defaults to ${LOCAL_DEFAULT_TIMEOUT_MS / 1000}s and may not exceed ${LOCAL_MAX_TIMEOUT_MS / 1000}s. Refused on ai calls and with resource_limits.max_concurrency / rate_per_second; a connector routed by WEFT_CONNECTOR_QUEUES runs as an activity on its queue. See README "Local execution".`;

const taskConfig = {
  execution: ExecutionMode.optional().meta({ description: EXECUTION_DESCRIPTION }),
  timeout: Duration.optional(),
  retry_policy: RetryPolicy.optional(),
  resource_limits: ResourceLimits.optional(),
};

/** A named connection of the tenant (`/v1/connections`); the same pattern as the routes' `{name}`. */
export const CONNECTION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const connectionName = (description: string) =>
  z
    .string()
    .regex(
      CONNECTION_NAME_PATTERN,
      'expected a connection name: 1-63 of a-z, 0-9, "-", "_", starting with a letter or digit',
    )
    .meta({ description })
    .optional();

const ConnectorCall = {
  connector: z.string().min(1),
  action: z.string().min(1),
  connection: connectionName(
    "A named connection of the tenant (GET /v1/connections) whose settings the connector uses instead of the worker's own.",
  ),
  inputs: z.record(z.string(), z.unknown()).default({}),
};

const TaskBody = z.strictObject({
  ...ConnectorCall,
  compensation: z.strictObject(ConnectorCall).optional(),
  cache: z.strictObject({ ttl: Duration }).optional(),
  ...taskConfig,
});

const AiBody = z.strictObject({
  model: z.string().min(1),
  prompt_template: z.string().min(1),
  system: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  output_mapping: z.record(z.string(), z.unknown()).optional(),
  connection: connectionName(
    "A named `ai` connection of the tenant (GET /v1/connections): its base_url and api_key instead of the worker's OPENAI_BASE_URL / OPENAI_API_KEY.",
  ),
  ...taskConfig,
});

const SubworkflowBody = z.strictObject({
  definition: z.string().regex(DEFINITION_ID_PATTERN, 'expected a definition id'),
  version: z.string().optional(),
  inputs: z.record(z.string(), z.unknown()).default({}),
});

export const TaskNode = z.strictObject({ ...nodeBase, type: z.literal('task'), ...TaskBody.shape });
export const AiNode = z.strictObject({ ...nodeBase, type: z.literal('ai'), ...AiBody.shape });
export const SetNode = z.strictObject({
  ...nodeBase,
  type: z.literal('set'),
  assign: z.record(z.string().regex(VARIABLE_NAME_PATTERN, VARIABLE_NAME_MESSAGE), Expression),
});
export const ConditionNode = z.strictObject({ ...nodeBase, type: z.literal('condition'), expression: Expression });
export const JoinNode = z.strictObject({
  ...nodeBase,
  type: z.literal('join'),
  mode: z.enum(['all', 'any', 'n']).default('all'),
  n: z.int().min(1).optional(),
});
export const WaitNode = z.strictObject({
  ...nodeBase,
  type: z.literal('wait'),
  duration: Duration.optional(),
  until: Expression.optional(),
});
export const EventNode = z.strictObject({
  ...nodeBase,
  type: z.literal('event'),
  event_type: z.string().min(1),
  correlation_key: Expression,
  filters: Expression.optional(),
  timeout: Duration.optional(),
});
export const ApprovalNode = z.strictObject({
  ...nodeBase,
  type: z.literal('approval'),
  approvers: z.array(z.string().min(1, 'expected a role or a caller id')).optional().meta({
    description:
      'Who may decide: roles (viewer, operator, editor, approver, admin: a caller holding the role, an admin holds them all) and caller ids ("key:<key name>", "jwt:<subject>", "local-dev"). Absent or empty: any caller allowed to approve. An entry that is neither is warned about at submit: it matches no caller.',
  }),
  quorum: z.int().min(1).optional().meta({
    description:
      'Distinct approvals needed before the node completes (default 1); one rejection rejects. A quorum above the listed caller ids, with no role listed, is refused at submit.',
  }),
  forbid_self_approval: z.boolean().optional().meta({
    description:
      'Refuses the approval of the caller who started the run (run.started_by); another approver must decide.',
  }),
  timeout: Duration.optional(),
  on_timeout: z.enum(['reject', 'approve']).default('reject'),
});
export const SubworkflowNode = z.strictObject({
  ...nodeBase,
  type: z.literal('subworkflow'),
  ...SubworkflowBody.shape,
});
export const MapNode = z.strictObject({
  ...nodeBase,
  type: z.literal('map'),
  items: Expression,
  max_concurrency: z.int().min(1).optional(),
  task: TaskBody.optional(),
  ai: AiBody.optional(),
  subworkflow: SubworkflowBody.optional(),
});
export const EndNode = z.strictObject({
  ...nodeBase,
  type: z.literal('end'),
  status: z.enum(['completed', 'failed']).default('completed'),
  result: Expression.optional(),
  message: z.string().optional(),
});

export const WorkflowNode = z.discriminatedUnion('type', [
  TaskNode,
  AiNode,
  SetNode,
  ConditionNode,
  JoinNode,
  WaitNode,
  EventNode,
  ApprovalNode,
  SubworkflowNode,
  MapNode,
  EndNode,
]);

export const WorkflowEdge = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  when: Expression.optional(),
  on: z.enum(['success', 'error']).default('success'),
  default: z.boolean().optional(),
});

export const WorkflowTrigger = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('manual') }),
  z.strictObject({
    type: z.literal('schedule'),
    cron: z.string().min(1),
    timezone: z.string().optional(),
    input: z.record(z.string(), z.unknown()).optional(),
  }),
  z.strictObject({ type: z.literal('webhook'), secret: z.string().optional() }),
  z.strictObject({ type: z.literal('event'), event_type: z.string().min(1), filters: Expression.optional() }),
]);

const StringOrList = z.union([z.string(), z.array(z.string())]);

export const ErrorHandler = z.strictObject({
  id: z.string().min(1),
  match: z.strictObject({ node: StringOrList.optional(), error_type: StringOrList.optional() }).optional(),
  action: z.enum(['retry', 'compensate', 'terminate', 'continue', 'goto']),
  retry_policy: RetryPolicy.optional(),
  target: z.string().optional(),
});

export const RunOptions = z.strictObject({
  on_failure: z.enum(['fail', 'pause']).default('fail'),
  max_concurrent_runs: z.int().min(1).optional().meta({
    description:
      'At most this many runs of the definition (every version) in the tenant hold a run permit at once, per concurrency_key. A run takes its permit before its first node and gives it back when it ends however it ends (completed, failed, cancelled, terminated). See README "Flow control".',
  }),
  concurrency_key: Expression.optional().meta({
    description:
      'JSONata expression evaluated when a start arrives, over its input (input, vars: the declared variables with their defaults, run; no node has run): max_concurrent_runs applies per value of it, and debounce tells bursts apart by it (42 and "42" are one key; null: the starts without a key). Needs max_concurrent_runs or debounce.',
  }),
  on_limit: z.enum(['queue', 'skip']).optional().meta({
    description:
      '"queue" (default): a run past max_concurrent_runs starts and waits before its first node, shown as `queued` with its key and place in line (ordered by priority, then FIFO). "skip": a start through the gateway (API, webhook, event trigger) while the limit is reached is refused with 409 conflict naming options.max_concurrent_runs and the key, and nothing starts; a run started otherwise (schedule, subworkflow, retry, a debounced burst) ends at once as failed with RunLimitReached. Needs max_concurrent_runs.',
  }),
  debounce: Duration.refine((value) => (parseDuration(value) ?? 1) > 0, { message: 'expected a window longer than 0' })
    .optional()
    .meta({
      description:
        'A window: a burst of starts through the gateway (API, webhooks, event triggers) per concurrency_key, each within this long of the one before, becomes one run with the last input (and the version the last start asked for), started once the window passed with no start. Each start is answered 202 { accepted, debounced: true, run_id, starts_after, starts } naming the run the burst becomes. Schedules, subworkflow children and retries start their run directly. See README "Flow control".',
    }),
  priority: z.int().min(1).max(5).optional().meta({
    description:
      "The run's priority, 1 (lowest) to 5 (highest), default 3: runs queued under options.max_concurrent_runs, and its executions waiting in the line of a node's limiter (resource_limits), are granted before those of lower-priority runs (FIFO within one priority); the run's workflow and activity tasks get Temporal's task priority 6 - priority (Temporal's 1 is highest).",
  }),
  timeout: Duration.optional(),
  execution: ExecutionMode.optional().meta({
    description:
      'The execution of every task node and task map body that does not set its own (see a task\'s execution); absent: "activity". An ai node (or ai map body) under options.execution "local" must set "execution": "activity" itself: model calls cannot run local.',
  }),
  max_cost_usd: z.number().nonnegative().optional().meta({
    description:
      "AI budget in USD, checked before every model call (ai nodes, each item of an ai map; child runs get what is left): once the run's cost reached it no call starts and the run pauses (budget_exceeded) until resumed with a higher max_cost_usd. A model without a price is refused while a budget is set.",
  }),
  max_node_visits: z.int().min(1).default(1000),
  /** The run's result, evaluated when it completes (default: its variables); an `end` node's own `result` wins. */
  result: Expression.optional().meta({
    description:
      "JSONata expression for the run's result, evaluated in the run's context when it completes (vars, input, nodes, run). Default: the run's final variables (secret ones masked), no node outputs. An end node's own result wins.",
  }),
});

export const WorkflowDefinition = z.strictObject({
  id: z.string().regex(DEFINITION_ID_PATTERN, 'expected an id matching ^[a-z0-9][a-z0-9._-]{0,63}$'),
  version: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  variables: z.array(WorkflowVariable).default([]),
  nodes: z.array(WorkflowNode).min(1, 'expected at least one node'),
  edges: z.array(WorkflowEdge).default([]),
  triggers: z.array(WorkflowTrigger).default([]),
  error_handlers: z.array(ErrorHandler).default([]),
  options: RunOptions.default({ on_failure: 'fail', max_node_visits: 1000 }),
});

export type Definition = z.output<typeof WorkflowDefinition>;
/** A definition as the registry stored it, its version assigned: what a run is started with. */
export type VersionedDefinition = Definition & { version: string };
export type DefinitionInput = z.input<typeof WorkflowDefinition>;
export type Node = z.output<typeof WorkflowNode>;
export type NodeType = Node['type'];
export type NodeOf<T extends NodeType> = Extract<Node, { type: T }>;
export type Edge = z.output<typeof WorkflowEdge>;
export type Variable = z.output<typeof WorkflowVariable>;
export type RetryPolicyConfig = z.output<typeof RetryPolicy>;
