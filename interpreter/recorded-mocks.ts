/**
 * A run's recorded node outcomes as the mocks of a definition test (`definition-test.ts`):
 * completed outputs as `output`, failures as `error`, events as `event`, decisions as
 * `decision`, timeouts as `timeout`. Read off the run state view (the `state` query), so what the
 * view masks (secret-derived values) is masked here too, and a node that ran several times
 * gives its latest outcome only. Used by `weft runs export-mocks` and the what-if replay.
 */
import type { Definition, Node } from './definition-schema.js';
import { nodeModule } from './nodes/index.js';
import type { NodeView, RecordedMock } from './nodes/types.js';
import { MASK, type RunStateView } from './run-state.js';

export type { RecordedMock };

/** One node's mock from its state, or undefined when it has nothing to replay (not run, skipped, run by the engine). */
export function mockOf(node: Node, view: NodeView): RecordedMock | undefined {
  return nodeModule(node).mock(node, view);
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
