/**
 * A definition as a graph: elkjs lays it out (layered, top to bottom), @xyflow/react draws it.
 * Nodes show their type badge, id and name, and whatever the view overlays: a run's node state,
 * a diff mark, pinned validation problems, error handlers that apply. Triggers are drawn as a
 * node above the entry nodes.
 */
import ELK from 'elkjs/lib/elk-api.js';
import { memo, useEffect, useState } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import type { DefEdge, Definition } from './api.js';

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 62;
export const TRIGGERS_ID = '__triggers';

export interface WeftNodeData extends Record<string, unknown> {
  type: string;
  nodeId: string;
  name?: string;
  status?: string;
  attempts?: number;
  items?: string;
  /** Extra run marks beside the status: `cached`, `compensated`, `compensation failed`. */
  marks?: string[];
  diff?: 'added' | 'removed' | 'changed';
  problems?: string[];
  handlers?: string[];
  triggers?: string[];
}

export type WeftNode = Node<WeftNodeData, 'weft'>;

const BADGES: Record<string, string> = {
  task: 'TASK',
  ai: 'AI',
  set: 'SET',
  condition: 'IF',
  join: 'JOIN',
  wait: 'WAIT',
  event: 'EVENT',
  approval: 'APPROVE',
  subworkflow: 'SUB',
  map: 'MAP',
  end: 'END',
  triggers: 'TRIGGER',
};

function WeftNodeView({ data, selected }: NodeProps<WeftNode>) {
  const classes = ['weft-node', `type-${data.type}`];
  if (data.status) classes.push(`status-${data.status}`);
  if (data.diff) classes.push(`diff-${data.diff}`);
  if (data.problems?.length) classes.push('has-problems');
  if (selected) classes.push('selected');
  return (
    <div
      className={classes.join(' ')}
      data-testid={`node-${data.nodeId}`}
      data-status={data.status ?? ''}
      data-diff={data.diff ?? ''}
    >
      {data.type !== 'triggers' && <Handle type="target" position={Position.Top} />}
      <div className="weft-node-head">
        <span className="badge">{BADGES[data.type] ?? data.type}</span>
        <span className="node-id">{data.nodeId}</span>
        {data.status && <span className={`state state-${data.status}`}>{data.status}</span>}
      </div>
      <div className="weft-node-sub">
        {data.triggers ? data.triggers.join(' · ') : (data.name ?? '')}
        {data.attempts !== undefined && data.attempts > 1 ? ` · ${data.attempts} attempts` : ''}
        {data.items ? ` · ${data.items}` : ''}
        {data.marks?.map((mark) => (
          <span key={mark} className={`mark mark-${mark.replace(/ /g, '-')}`} data-testid={`mark-${data.nodeId}`}>
            {mark}
          </span>
        ))}
      </div>
      {data.handlers?.length ? <div className="handlers">on failure: {data.handlers.join(', ')}</div> : null}
      {data.problems?.length ? (
        <div className="pin" title={data.problems.join('\n')} data-testid={`problem-${data.nodeId}`}>
          ! {data.problems[0]}
          {data.problems.length > 1 ? ` (+${data.problems.length - 1})` : ''}
        </div>
      ) : null}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

export const nodeTypes = { weft: memo(WeftNodeView) };

export function edgeLabel(edge: DefEdge): string | undefined {
  if (edge.on === 'error') return edge.when ? `on: error · ${edge.when}` : 'on: error';
  if (edge.default) return 'default';
  if (edge.when) return `when: ${edge.when}`;
  return undefined;
}

export function flowEdge(edge: DefEdge, index: number, extra: { className?: string; problem?: string } = {}): Edge {
  const label = edgeLabel(edge);
  const classes = [edge.on === 'error' ? 'edge-error' : 'edge-success'];
  if (extra.className) classes.push(extra.className);
  if (extra.problem) classes.push('edge-problem');
  return {
    id: `e${index}`,
    source: edge.from,
    target: edge.to,
    type: 'smoothstep',
    className: classes.join(' '),
    markerEnd: { type: MarkerType.ArrowClosed },
    ...(label || extra.problem ? { label: extra.problem ? `! ${extra.problem}` : label } : {}),
  };
}

/** Which error handlers apply to which node (by `match.node`; a handler without one applies to all). */
export function handlersByNode(definition: Definition): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const handler of definition.error_handlers ?? []) {
    const matched = handler.match?.node;
    const ids =
      matched === undefined ? definition.nodes.map((n) => n.id) : Array.isArray(matched) ? matched : [matched];
    for (const id of ids) result.set(id, [...(result.get(id) ?? []), `${handler.id} (${handler.action})`]);
  }
  return result;
}

function triggerText(trigger: { type: string; [field: string]: unknown }): string {
  if (trigger.type === 'schedule') return `schedule ${String(trigger.cron)}`;
  if (trigger.type === 'event') return `event ${String(trigger.event_type)}`;
  return trigger.type;
}

export interface Overlay {
  data?: (id: string) => Partial<WeftNodeData>;
  edgeClass?: (edge: DefEdge, index: number) => string | undefined;
}

/** Nodes and edges of a definition, without positions. */
export function toFlow(definition: Definition, overlay: Overlay = {}): { nodes: WeftNode[]; edges: Edge[] } {
  const handlers = handlersByNode(definition);
  const edges = definition.edges ?? [];
  const nodes: WeftNode[] = definition.nodes.map((n) => ({
    id: n.id,
    type: 'weft',
    position: { x: 0, y: 0 },
    data: {
      type: n.type,
      nodeId: n.id,
      ...(n.name ? { name: n.name } : {}),
      ...(handlers.get(n.id) ? { handlers: handlers.get(n.id) } : {}),
      ...overlay.data?.(n.id),
    },
  }));
  const flowEdges = edges.map((e, i) => {
    const className = overlay.edgeClass?.(e, i);
    return flowEdge(e, i, className ? { className } : {});
  });
  const triggers = definition.triggers ?? [];
  if (triggers.length > 0) {
    nodes.unshift({
      id: TRIGGERS_ID,
      type: 'weft',
      position: { x: 0, y: 0 },
      selectable: false,
      data: { type: 'triggers', nodeId: 'triggers', triggers: triggers.map(triggerText) },
    });
    const targets = new Set(edges.map((e) => e.to));
    for (const n of definition.nodes.filter((node) => !targets.has(node.id)))
      flowEdges.push({
        id: `t-${n.id}`,
        source: TRIGGERS_ID,
        target: n.id,
        type: 'smoothstep',
        className: 'edge-trigger',
      });
  }
  return { nodes, edges: flowEdges };
}

// The layout runs in a Web Worker (elkjs' own worker script, served beside the bundle), so a big
// graph's layout never freezes the page.
const elk = new ELK({ workerUrl: '/studio/elk-worker.js' });

/** Positions from elkjs' layered algorithm, for nodes and edges as `toFlow` makes them. */
export async function layout<N extends Node>(nodes: N[], edges: Edge[]): Promise<N[]> {
  const ids = new Set(nodes.map((n) => n.id));
  const graph = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.spacing.nodeNode': '40',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
      'elk.edgeRouting': 'ORTHOGONAL',
    },
    children: nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const at = new Map((graph.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
  return nodes.map((n) => ({ ...n, position: at.get(n.id) ?? n.position }));
}

/** A laid-out, read-only graph; `onNodeClick` gets the definition's node id. */
export function GraphView(props: {
  definition: Definition;
  overlay?: Overlay;
  onNodeClick?: (id: string) => void;
  onRendered?: () => void;
  testId?: string;
}) {
  const { definition, overlay } = props;
  const [laid, setLaid] = useState<{ nodes: WeftNode[]; edges: Edge[]; key: string } | null>(null);
  const { nodes, edges } = toFlow(definition, overlay);
  // Layout depends on the graph's shape only: overlays (states, marks) change without a new layout.
  const shape = JSON.stringify([nodes.map((n) => n.id), edges.map((e) => [e.source, e.target])]);
  useEffect(() => {
    let current = true;
    void layout(nodes, edges).then((positioned) => {
      if (current) setLaid({ nodes: positioned, edges, key: shape });
    });
    return () => {
      current = false;
    };
  }, [shape]);
  if (!laid) return <div className="graph loading">laying out {definition.nodes.length} nodes…</div>;
  const position = new Map(laid.nodes.map((n) => [n.id, n.position]));
  const shown = nodes.map((n) => ({ ...n, position: position.get(n.id) ?? n.position }));
  return (
    <div className="graph" data-testid={props.testId ?? 'graph'} data-nodes={definition.nodes.length}>
      <ReactFlow
        key={laid.key}
        nodes={shown}
        edges={edges}
        nodeTypes={nodeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        onlyRenderVisibleElements={nodes.length > 150}
        fitView
        // A big graph opens at a zoom where labels stay readable (pan to move); the fit button shows it all.
        fitViewOptions={{ minZoom: 0.4, maxZoom: 1 }}
        minZoom={0.05}
        onInit={() => props.onRendered?.()}
        onNodeClick={(_e, node) => node.id !== TRIGGERS_ID && props.onNodeClick?.(node.id)}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
