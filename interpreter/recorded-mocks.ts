/**
 * A run's recorded node outcomes as the mocks of a definition test (`definition-test.ts`):
 * completed outputs as `output`, failures as `error`, events as `event`, decisions as
 * `decision`, timeouts as `timeout`. Read off the run state view (the `state` query), so what the
 * view masks (secret-derived values) is masked here too, and a node that ran several times
 * gives its latest outcome only. Used by `weft runs export-mocks` and the what-if replay.
 */
import type { Definition, Node } from './definition-schema.js';
import { MASK, type RunStateView } from './run-state.js';

type NodeView = RunStateView['nodes'][string];
/** A mock as `MockEntry` takes it. */
export type RecordedMock = Record<string, unknown>;

const ITEM_PREFIX = /^item \d+: /;

/** One node's mock from its state, or undefined when it has nothing to replay (not run, skipped, run by the engine). */
export function mockOf(node: Node, view: NodeView): RecordedMock | undefined {
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

/** The mocks of a recorded run (nodes of `definition`, the version it ran), and the nodes whose mock holds a masked value. */
export function recordedMocks(
  definition: Pick<Definition, 'nodes'>,
  nodes: RunStateView['nodes'],
): { mocks: Record<string, RecordedMock>; masked: string[] } {
  const mocks: Record<string, RecordedMock> = {};
  const masked: string[] = [];
  for (const node of definition.nodes) {
    const view = Object.hasOwn(nodes, node.id) ? nodes[node.id] : undefined;
    const mock = view && mockOf(node, view);
    if (!mock) continue;
    mocks[node.id] = mock;
    if (JSON.stringify(mock).includes(`"${MASK}"`)) masked.push(node.id);
  }
  return { mocks, masked };
}
