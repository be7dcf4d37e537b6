/**
 * `weft runs export-mocks <run-id>`: the node outcomes of a real run as a mocks table for
 * definition tests (`POST /v1/definitions/test`, `weft test`): completed outputs as `output`,
 * failures as `error`, events as `event`, decisions as `decision`, timeouts as `timeout`. It
 * reads the run state (`GET /v1/runs/{id}`) and the run's definition version (for the node
 * types), so what the state masks (secret-derived values) is masked here too.
 */
import type { Node } from '../../interpreter/definition-schema.js';
import { MASK } from '../../interpreter/run-state.js';
import { arg, type Command } from './command.js';
import type { RunState } from './gateway-client.js';
import { pretty } from './output.js';

type NodeView = RunState['nodes'][string];
/** A mock as `MockEntry` (interpreter/definition-test.ts) takes it; values come off the wire. */
type MockEntryValue = Record<string, unknown>;

const ITEM_PREFIX = /^item \d+: /;

/** One node's mock from its state, or undefined when it has nothing to replay (not run, skipped, run by the engine). */
function mockOf(node: Node, view: NodeView): MockEntryValue | undefined {
  const error = view.error ? { type: view.error.type, message: view.error.message } : undefined;
  switch (node.type) {
    case 'task':
    case 'ai':
    case 'subworkflow':
      if (view.status === 'completed') return { output: view.output ?? null };
      return view.status === 'failed' && error ? { error } : undefined;
    case 'map':
      if (view.status === 'completed' && Array.isArray(view.output))
        return { items: view.output.map((output: unknown) => ({ output: output ?? null })) };
      // Which item failed is in the message only: every item gets the failure.
      return view.status === 'failed' && error
        ? { error: { type: error.type, message: error.message.replace(ITEM_PREFIX, '') } }
        : undefined;
    case 'event':
      if (view.status === 'completed') return { event: { payload: view.output ?? null } };
      return view.status === 'failed' && error?.type === 'Timeout' ? { timeout: true } : undefined;
    case 'approval': {
      const decision = view.output as
        { approved?: boolean; by?: string; comment?: string | null; approvals?: Array<{ by: string }> } | undefined;
      if (!decision || (view.status !== 'completed' && view.status !== 'failed')) return undefined;
      if (decision.by === 'timeout') return { timeout: true };
      const by = decision.approved && decision.approvals ? decision.approvals.map((a) => a.by) : decision.by;
      return {
        decision: decision.approved ? 'approved' : 'rejected',
        ...(by === undefined ? {} : { by }),
        ...(typeof decision.comment === 'string' ? { comment: decision.comment } : {}),
      };
    }
    default:
      return undefined;
  }
}

export const exportMocksCommand: Command = {
  name: 'runs export-mocks',
  args: '<run-id>',
  summary: "a run's node outcomes as a mocks table for definition tests",
  details: [
    'Prints { "<node>": { "output" | "error" | "event" | "decision" | "timeout" }, … } (README, "Definition tests"),',
    'ready for the "mocks" of POST /v1/definitions/test or a case of a test file. The run state keeps each',
    "node's latest outcome only: a node that ran several times (a loop, a retry) gets its last one.",
    'Values the run state masks (secret-derived) stay masked; a note on stderr names those nodes.',
  ].join('\n'),
  options: {},
  arity: [1, 1],
  async run(context) {
    const state = (await context.client.state(arg(context, 0))).body;
    const definition = (await context.client.definitionVersion(state.definition_id, state.definition_version)).body;
    const mocks: Record<string, MockEntryValue> = {};
    const masked: string[] = [];
    for (const node of definition.nodes) {
      const view = state.nodes[node.id];
      const mock = view && mockOf(node, view);
      if (!mock) continue;
      mocks[node.id] = mock;
      if (JSON.stringify(mock).includes(`"${MASK}"`)) masked.push(node.id);
    }
    context.out.line(context.json ? JSON.stringify(mocks) : pretty(mocks));
    if (masked.length > 0)
      context.out.note(
        `weft: the run state masks secret-derived values of ${masked.join(', ')}: replace "${MASK}" before testing`,
      );
    return undefined;
  },
};
