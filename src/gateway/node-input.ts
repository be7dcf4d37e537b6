/**
 * `GET /v1/runs/{run_id}/nodes/{node}/input`: the resolved input of a node's most recent call,
 * read from the run's Temporal history (decoded through the client's data converter, so the
 * payload codec applies). Task and AI nodes call an activity (`ActivityTaskScheduled`, the
 * activity's summary names the node), subworkflow nodes start a child run
 * (`StartChildWorkflowExecutionInitiated`, its summary ends in `(from <node>)`), map nodes do
 * either once per item. Nodes the engine evaluates itself make no call: their answer says so.
 *
 * Secret-derived values are masked as the state view masks them (`***`): the params the
 * workflow marks as secret-derived (`call.mask`, `taint.ts`), the prompt of a tainted AI node,
 * the child inputs rendered from tainted templates, and the values of secret variables wherever
 * they occur. `secret:NAME` references travel unresolved and are shown as they are.
 */
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads, decodeUserMetadata } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { Definition, Node } from '../../interpreter/definition-schema.js';
import type { ConnectorCall, AiCall, ChildCall } from '../../interpreter/commands.js';
import { withDefaultExecution } from '../../interpreter/execution.js';
import { templateExpressions } from '../../interpreter/references.js';
import { MASK, scrub } from '../../interpreter/run-state.js';
import { taintOf, taintedParamPointers } from '../../interpreter/taint.js';
import { notFound } from '../shared/http-error.js';

/** Whether the node's calls run local (its own `execution`, else `options.execution`): they leave no input in history. */
function runsLocal(definition: Definition, node: Node): boolean {
  const own = withDefaultExecution(node, definition.options?.execution);
  const body = own.type === 'map' ? (own.task ?? own.ai) : own.type === 'task' || own.type === 'ai' ? own : undefined;
  return body?.execution === 'local';
}

/** A map node's answer lists at most this many item calls (the most recent ones). */
export const MAP_ITEMS_LIMIT = 50;

/** Node types the engine evaluates without calling out. */
const CALLS = new Set(['task', 'ai', 'subworkflow', 'map']);

export interface NodeCall {
  /** `activity` (task, ai) or `child` (subworkflow). */
  kind: 'activity' | 'child';
  input: unknown;
  scheduled_at: string;
  /** A map item's index, when the history tells it (child runs: their workflow id). */
  index?: number;
}

export interface NodeInput {
  run_id: string;
  node: string;
  node_type: string;
  /** The most recent call's resolved input; null: the node made no call (see `reason`). */
  input: unknown;
  /** Why `input` is null. */
  reason?: string;
  kind?: NodeCall['kind'];
  scheduled_at?: string;
  /** How many calls of the node the run's current history holds. */
  calls: number;
  /** A map node's item calls, oldest first: the last MAP_ITEMS_LIMIT of them. */
  items?: NodeCall[];
}

interface HistoryEvent {
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  userMetadata?: unknown;
  workflowExecutionStartedEventAttributes?: { input?: { payloads?: unknown[] | null } | null } | null;
  activityTaskScheduledEventAttributes?: {
    activityType?: { name?: string | null } | null;
    input?: { payloads?: unknown[] | null } | null;
  } | null;
  startChildWorkflowExecutionInitiatedEventAttributes?: {
    workflowId?: string | null;
    input?: { payloads?: unknown[] | null } | null;
  } | null;
}

type Converter = Client['options']['loadedDataConverter'];

function timeOf(event: HistoryEvent): string {
  const t = event.eventTime;
  const ms = Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  return new Date(ms).toISOString();
}

async function decoded(converter: Converter, payloads: unknown[] | null | undefined): Promise<unknown[]> {
  return decodeArrayFromPayloads(converter, payloads as Parameters<typeof decodeArrayFromPayloads>[1]);
}

async function summaryOf(converter: Converter, event: HistoryEvent): Promise<string | undefined> {
  if (!event.userMetadata) return undefined;
  const metadata = await decodeUserMetadata(converter, event.userMetadata);
  return metadata.staticSummary;
}

/** Sets the value at each JSON Pointer (into `value`) to `***`; pointers that name nothing are left. */
function maskPointers(value: unknown, pointers: Iterable<string>): unknown {
  let out = structuredClone(value);
  for (const pointer of pointers) {
    if (pointer === '') {
      out = MASK;
      continue;
    }
    const parts = pointer
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let at: unknown = out;
    for (const [i, part] of parts.entries()) {
      if (!at || typeof at !== 'object' || !Object.hasOwn(at, part)) break;
      if (i === parts.length - 1) (at as Record<string, unknown>)[part] = MASK;
      else at = (at as Record<string, unknown>)[part];
    }
  }
  return out;
}

/** The values of the run's secret variables (from its input or their defaults), longest first. */
function secretValues(definition: Definition, input: Record<string, unknown>): string[] {
  const values = new Set<string>();
  for (const variable of definition.variables) {
    if (!variable.secret) continue;
    const value = Object.hasOwn(input, variable.name) ? input[variable.name] : variable.default;
    if ((typeof value === 'string' || typeof value === 'number') && String(value).length > 0) values.add(String(value));
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/** The child inputs of a subworkflow body rendered from tainted templates. */
function taintedChildPointers(definition: Definition, node: Node): string[] {
  const taint = taintOf(definition);
  if (!taint.nodes.has(node.id)) return [];
  const inputs = node.type === 'subworkflow' ? node.inputs : node.type === 'map' ? node.subworkflow?.inputs : undefined;
  if (inputs === undefined) return [];
  // The node is tainted: every templated input may carry what tainted it (as the state view errs).
  return [...new Set(templateExpressions(inputs).map(([pointer]) => pointer))];
}

/** The answer for `node` of the run whose history `events` is. */
export async function nodeInputOf(
  converter: Converter,
  runId: string,
  nodeId: string,
  events: readonly HistoryEvent[],
): Promise<NodeInput> {
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const [args] = (await decoded(converter, started?.input?.payloads)) as [
    { definition?: Definition; input?: Record<string, unknown> } | undefined,
  ];
  const definition = args?.definition;
  if (!definition) throw notFound(`run "${runId}"`);
  const node = definition.nodes.find((n) => n.id === nodeId);
  if (!node) throw notFound(`node "${nodeId}" in run "${runId}" (definition ${definition.id})`);
  const base = { run_id: runId, node: nodeId, node_type: node.type };
  if (!CALLS.has(node.type)) {
    return {
      ...base,
      input: null,
      calls: 0,
      reason: `a ${node.type} node is evaluated by the engine and makes no call; its declared fields are in the definition`,
    };
  }
  const secrets = secretValues(definition, args.input ?? {});
  const paramPointers = taintedParamPointers(definition).get(nodeId) ?? [];
  const childPointers = taintedChildPointers(definition, node);
  const aiTainted = taintOf(definition).nodes.has(nodeId);
  const calls: NodeCall[] = [];
  for (const event of events) {
    const activity = event.activityTaskScheduledEventAttributes;
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes;
    if (activity) {
      const type = activity.activityType?.name;
      if (type !== 'runConnector' && type !== 'runAi') continue;
      const summary = await summaryOf(converter, event);
      if (summary !== nodeId && !summary?.startsWith(`${nodeId}: `)) continue;
      const [call] = await decoded(converter, activity.input?.payloads);
      let input: unknown;
      if (type === 'runConnector') {
        const { params, mask } = call as ConnectorCall;
        input = maskPointers(params, new Set([...paramPointers, ...(mask ?? [])]));
      } else {
        const { model, system, prompt, parameters } = call as AiCall;
        input = {
          model,
          ...(system === undefined ? {} : { system: aiTainted ? MASK : system }),
          prompt: aiTainted ? MASK : prompt,
          ...(parameters ? { parameters } : {}),
        };
      }
      calls.push({ kind: 'activity', input: scrub(input, secrets), scheduled_at: timeOf(event) });
    } else if (child) {
      const summary = await summaryOf(converter, event);
      if (!summary?.endsWith(`(from ${nodeId})`)) continue;
      const [childArgs] = (await decoded(converter, child.input?.payloads)) as [{ input?: ChildCall['input'] }];
      const input = scrub(maskPointers(childArgs?.input ?? {}, childPointers), secrets);
      // A map item's child id ends in `<node>-<seq>-<index>` (the execution `<node>#<seq>/<index>`).
      const index = node.type === 'map' ? /-\d+-(\d+)$/.exec(child.workflowId ?? '')?.[1] : undefined;
      calls.push({
        kind: 'child',
        input,
        scheduled_at: timeOf(event),
        ...(index === undefined ? {} : { index: Number(index) }),
      });
    }
  }
  const last = calls.at(-1);
  if (!last) {
    return {
      ...base,
      input: null,
      calls: 0,
      reason: runsLocal(definition, node)
        ? 'the node runs its calls as local activities (execution "local"), whose input Temporal does not record in the history (their MarkerRecorded events hold the result only)'
        : 'the node has made no call in the run yet (or only before its last continue-as-new)',
    };
  }
  return {
    ...base,
    input: last.input,
    kind: last.kind,
    scheduled_at: last.scheduled_at,
    calls: calls.length,
    ...(node.type === 'map' ? { items: calls.slice(-MAP_ITEMS_LIMIT) } : {}),
  };
}
