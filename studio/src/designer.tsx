/**
 * The Designer: the definition is the document. The palette adds nodes (drag onto the canvas),
 * handles connect them, edges reconnect by dragging their ends, Delete removes what is selected.
 * The selected node's form is generated from the served JSON Schema; the JSON tab edits the same
 * document. Every change is validated by the gateway (`POST /v1/definitions/validate`); its
 * problems are pinned on the nodes and edges they point at, and saving waits until there are none.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { SaveAsTemplate } from './save-template.js';
import {
  Background,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useNodesState,
  useReactFlow,
  type Connection,
  type Edge,
  type NodeChange,
} from '@xyflow/react';
import {
  ApiError,
  api,
  route,
  type DefEdge,
  type DefNode,
  type Definition,
  type Identity,
  type Problem,
  type Variable,
} from './api.js';
import { flowEdge, layout, nodeTypes, toFlow, type WeftNode } from './graph.js';
import { TestPanel, type TestRun } from './test-run.js';
import { FieldTools, PreviewSampleContext, SampleEditor, initialSample } from './expressions.js';
import {
  FieldExtrasContext,
  SchemaFields,
  nodeSchema,
  nodeTypesOf,
  skeleton,
  type FieldExtras,
  type JsonSchema,
} from './schema-form.js';
import { StartRun } from './start-run.js';
import { ErrorLine } from './ui.js';

const DRAG_TYPE = 'application/x-weft-node-type';
const VARIABLE_TYPES: Variable['type'][] = ['string', 'number', 'boolean', 'object', 'array', 'any'];

/** Each connector action's params schema, from the OpenAPI document's `ConnectorParams_<connector>_<action>`. */
export type ConnectorSchemas = Record<string, Record<string, JsonSchema>>;

function connectorSchemas(openapi: { components?: { schemas?: Record<string, JsonSchema> } }): ConnectorSchemas {
  const out: ConnectorSchemas = {};
  for (const [name, schema] of Object.entries(openapi.components?.schemas ?? {})) {
    const match = /^ConnectorParams_([^_]+)_(.+)$/.exec(name);
    if (!match?.[1] || !match[2]) continue;
    (out[match[1]] ??= {})[match[2]] = schema;
  }
  return out;
}

type Selection = { kind: 'node'; id: string } | { kind: 'edge'; index: number } | { kind: 'definition' };

/** Problems by what they point at: `/nodes/3/…` → node 3's id, `/edges/1/…` → edge 1. */
function pin(definition: Definition, problems: Problem[]) {
  const nodes = new Map<string, string[]>();
  const edges = new Map<number, string[]>();
  const other: Problem[] = [];
  for (const p of problems) {
    const node = /^\/nodes\/(\d+)(\/.*)?$/.exec(p.path);
    const edge = /^\/edges\/(\d+)(\/.*)?$/.exec(p.path);
    const nodeId = node ? definition.nodes[Number(node[1])]?.id : undefined;
    const text = `${node?.[2] ?? edge?.[2] ?? ''} ${p.message}`.trim();
    if (nodeId !== undefined) nodes.set(nodeId, [...(nodes.get(nodeId) ?? []), text]);
    else if (edge) edges.set(Number(edge[1]), [...(edges.get(Number(edge[1])) ?? []), text]);
    else other.push(p);
  }
  return { nodes, edges, other };
}

function freshId(definition: Definition, type: string): string {
  for (let i = 1; ; i++) {
    const id = `${type}${i}`;
    if (!definition.nodes.some((n) => n.id === id)) return id;
  }
}

function Designer({
  identity,
  initial,
  schema,
  connectors,
}: {
  identity: Identity;
  initial: Definition;
  schema: JsonSchema;
  connectors: ConnectorSchemas;
}) {
  const flow = useReactFlow();
  const [draft, setDraft] = useState<Definition>(initial);
  const [selection, setSelection] = useState<Selection>({ kind: 'definition' });
  const [tab, setTab] = useState<'visual' | 'json'>('visual');
  const [jsonText, setJsonText] = useState('');
  const [jsonProblem, setJsonProblem] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[] | null>(null);
  const [validationError, setValidationError] = useState<unknown>(null);
  const [saved, setSaved] = useState<{ version: string; created: boolean; approval?: string } | null>(null);
  const [message, setMessage] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const [templating, setTemplating] = useState(false);
  const [testing, setTesting] = useState(false);
  // The last test run: the nodes on its path show their test status on the graph.
  const [testRun, setTestRun] = useState<TestRun | null>(null);
  const [busy, setBusy] = useState(false);
  const [nodes, setNodes, onNodesChangeBase] = useNodesState<WeftNode>([]);
  const placed = useRef(new Map<string, { x: number; y: number }>());
  const laidOut = useRef(false);
  const [sampleText, setSampleText] = useState(() => initialSample(initial));
  const sample = useMemo(() => ({ text: sampleText, setText: setSampleText }), [sampleText]);
  // Every field of the inspector's forms shows the problems at its pointer and, for an expression, a preview.
  const extrasAt =
    (base: string): FieldExtras =>
    (pointer, value, { exact }) => (
      <FieldTools pointer={`${base}${pointer}`} value={value} problems={problems ?? []} exact={exact} />
    );

  const pinned = useMemo(() => pin(draft, problems ?? []), [draft, problems]);

  // Nodes follow the document; positions stay where the person put them.
  useEffect(() => {
    setNodes((previous) => {
      const before = new Map(previous.map((n) => [n.id, n]));
      const { nodes: fresh } = toFlow(
        { ...draft, triggers: [] },
        {
          data: (id) => {
            const tested = testRun?.path.includes(id) ? testRun.nodes[id]?.status : undefined;
            return { problems: pinned.nodes.get(id) ?? [], ...(tested ? { status: tested } : {}) };
          },
        },
      );
      let lowest = Math.max(0, ...previous.map((n) => n.position.y));
      return fresh.map((n) => {
        const old = before.get(n.id);
        const position = old?.position ?? placed.current.get(n.id) ?? { x: 40, y: (lowest += 110) };
        return {
          ...n,
          position,
          selected: selection.kind === 'node' && selection.id === n.id,
          ...(old?.measured ? { measured: old.measured } : {}),
        };
      });
    });
  }, [draft, pinned, selection, setNodes, testRun]);

  // An existing definition opens laid out by elkjs, once.
  useEffect(() => {
    if (laidOut.current || initial.nodes.length === 0) return;
    laidOut.current = true;
    const { nodes: fresh, edges } = toFlow({ ...initial, triggers: [] });
    void layout(fresh, edges).then((positioned) => {
      for (const n of positioned) placed.current.set(n.id, n.position);
      setNodes((current) => current.map((n) => ({ ...n, position: placed.current.get(n.id) ?? n.position })));
      // After the moved nodes are drawn; no `fitView` prop, which would zoom onto the first node dropped.
      requestAnimationFrame(() => void flow.fitView());
    });
  }, [initial, setNodes, flow]);

  // Live validation by the gateway, shortly after the last change.
  useEffect(() => {
    setProblems(null);
    const timer = setTimeout(() => {
      api('POST', '/v1/definitions/validate', draft).then(
        () => {
          setProblems([]);
          setValidationError(null);
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.code === 'validation_failed') {
            setProblems(err.details.length > 0 ? err.details : [{ path: '', message: err.message }]);
            setValidationError(null);
          } else setValidationError(err);
        },
      );
    }, 350);
    return () => clearTimeout(timer);
  }, [draft]);

  const edges: Edge[] = (draft.edges ?? []).map((e, i) => {
    const problem = pinned.edges.get(i)?.join('; ');
    return {
      ...flowEdge(e, i, problem ? { problem } : {}),
      selected: selection.kind === 'edge' && selection.index === i,
      reconnectable: true,
    };
  });

  const update = (next: Definition) => {
    setDraft(next);
    setMessage(null);
  };
  const removeNodes = (ids: string[]) =>
    update({
      ...draft,
      nodes: draft.nodes.filter((n) => !ids.includes(n.id)),
      edges: (draft.edges ?? []).filter((e) => !ids.includes(e.from) && !ids.includes(e.to)),
    });
  const removeEdges = (indexes: number[]) =>
    update({ ...draft, edges: (draft.edges ?? []).filter((_e, i) => !indexes.includes(i)) });

  const onNodesChange = (changes: NodeChange<WeftNode>[]) => {
    const removed = changes.filter((c) => c.type === 'remove').map((c) => c.id);
    onNodesChangeBase(changes.filter((c) => c.type !== 'remove' && c.type !== 'select'));
    if (removed.length > 0) {
      removeNodes(removed);
      setSelection({ kind: 'definition' });
    }
  };

  const onConnect = (connection: Connection) => {
    if (!connection.source || !connection.target) return;
    update({ ...draft, edges: [...(draft.edges ?? []), { from: connection.source, to: connection.target }] });
    setSelection({ kind: 'edge', index: (draft.edges ?? []).length });
  };
  const onReconnect = (old: Edge, connection: Connection) => {
    const index = Number(old.id.slice(1));
    update({
      ...draft,
      edges: (draft.edges ?? []).map((e, i) =>
        i === index ? { ...e, from: connection.source, to: connection.target } : e,
      ),
    });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const type = event.dataTransfer.getData(DRAG_TYPE);
    if (!type) return;
    const id = freshId(draft, type);
    placed.current.set(id, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
    update({ ...draft, nodes: [...draft.nodes, skeleton(nodeSchema(schema, type), id, type) as DefNode] });
    setSelection({ kind: 'node', id });
  };

  const selectedNode = selection.kind === 'node' ? draft.nodes.find((n) => n.id === selection.id) : undefined;
  const selectedEdge = selection.kind === 'edge' ? (draft.edges ?? [])[selection.index] : undefined;

  const setNode = (id: string, next: DefNode) => {
    const renamed = next.id !== id;
    if (renamed) {
      const position = nodes.find((n) => n.id === id)?.position;
      if (position) placed.current.set(next.id, position);
    }
    update({
      ...draft,
      nodes: draft.nodes.map((n) => (n.id === id ? next : n)),
      edges: renamed
        ? (draft.edges ?? []).map((e) => ({
            ...e,
            from: e.from === id ? next.id : e.from,
            to: e.to === id ? next.id : e.to,
          }))
        : draft.edges,
    });
    if (renamed) setSelection({ kind: 'node', id: next.id });
  };
  const setEdge = (index: number, next: DefEdge) =>
    update({ ...draft, edges: (draft.edges ?? []).map((e, i) => (i === index ? next : e)) });

  const save = async () => {
    setBusy(true);
    try {
      const answer = await api<{ id: string; version: string; created: boolean; approval?: string }>(
        'POST',
        '/v1/definitions',
        draft,
      );
      setSaved(answer);
      setMessage(
        answer.approval === 'pending'
          ? `Saved as version ${answer.version}: waiting for approval (four-eyes) before it can be active.`
          : answer.created
            ? `Saved as version ${answer.version}.`
            : `Unchanged: identical to version ${answer.version}.`,
      );
    } catch (err) {
      setMessage(err);
    } finally {
      setBusy(false);
    }
  };
  const activate = async () => {
    if (!saved) return;
    try {
      await api('PUT', route('/v1/definitions', draft.id, 'active'), { version: saved.version });
      setMessage(`Version ${saved.version} is active.`);
    } catch (err) {
      setMessage(err);
    }
  };

  const openJson = () => {
    setJsonText(JSON.stringify(draft, null, 2));
    setJsonProblem(null);
    setTab('json');
  };
  const editJson = (text: string) => {
    setJsonText(text);
    try {
      const parsed: unknown = JSON.parse(text);
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        Array.isArray(parsed) ||
        !Array.isArray((parsed as Definition).nodes)
      )
        throw new Error('expected a definition: an object with "nodes"');
      setJsonProblem(null);
      update(parsed as Definition);
    } catch (err) {
      setJsonProblem(err instanceof Error ? err.message : String(err));
    }
  };

  const errors = problems?.length ?? 0;
  const canSave =
    identity.permissions.includes('edit') && problems !== null && errors === 0 && jsonProblem === null && !busy;
  const types = nodeTypesOf(schema);

  return (
    <PreviewSampleContext.Provider value={sample}>
      <section className="designer">
        <div className="toolbar">
          <h1>Designer: {draft.id || 'new definition'}</h1>
          <button type="button" className={tab === 'visual' ? 'active' : ''} onClick={() => setTab('visual')}>
            Visual
          </button>
          <button type="button" className={tab === 'json' ? 'active' : ''} onClick={openJson}>
            JSON
          </button>
          <span
            className={`validation ${problems === null ? 'pending' : errors ? 'invalid' : 'valid'}`}
            data-testid="validation"
          >
            {problems === null ? 'validating…' : errors ? `${errors} problem${errors > 1 ? 's' : ''}` : 'valid'}
          </span>
          <button type="button" disabled={!canSave} onClick={() => void save()}>
            Save
          </button>
          {saved && saved.approval !== 'pending' && identity.permissions.includes('edit') && (
            <button type="button" onClick={() => void activate()}>
              Activate v{saved.version}
            </button>
          )}
          {saved && identity.permissions.includes('run') && (
            <button type="button" onClick={() => setStarting(true)}>
              Start run
            </button>
          )}
          {identity.permissions.includes('edit') && (
            <button type="button" disabled={jsonProblem !== null} onClick={() => setTesting(true)}>
              Test
            </button>
          )}
          {identity.permissions.includes('edit') && (
            <button type="button" disabled={jsonProblem !== null} onClick={() => setTemplating(true)}>
              Store as template
            </button>
          )}
          {saved && <a href={`#/definitions/${encodeURIComponent(draft.id)}`}>open definition</a>}
        </div>
        {templating && <SaveAsTemplate definition={draft} onClose={() => setTemplating(false)} />}
        {testing && <TestPanel definition={draft} onResult={setTestRun} onClose={() => setTesting(false)} />}
        {typeof message === 'string' ? (
          <p className="ok" data-testid="save-message">
            {message}
          </p>
        ) : message ? (
          <ErrorLine error={message} />
        ) : null}
        {validationError ? <ErrorLine error={validationError} /> : null}
        {starting && saved && (
          <StartRun definition={{ ...draft, version: saved.version }} onClose={() => setStarting(false)} />
        )}
        <div className="designer-body">
          <div className="palette" aria-label="palette">
            <h3>Nodes</h3>
            {types.map((type) => (
              <div
                key={type}
                className={`palette-item type-${type}`}
                draggable
                data-testid={`palette-${type}`}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_TYPE, type);
                  e.dataTransfer.effectAllowed = 'move';
                }}
              >
                {type}
              </div>
            ))}
          </div>
          {tab === 'visual' ? (
            <div className="canvas" data-testid="canvas" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
              <ReactFlow
                nodes={nodes}
                edges={edges}
                nodeTypes={nodeTypes}
                onNodesChange={onNodesChange}
                onEdgesChange={(changes) => {
                  const removed = changes.filter((c) => c.type === 'remove').map((c) => Number(c.id.slice(1)));
                  if (removed.length > 0) {
                    removeEdges(removed);
                    setSelection({ kind: 'definition' });
                  }
                }}
                onConnect={onConnect}
                onReconnect={onReconnect}
                onNodeClick={(_e, node) => setSelection({ kind: 'node', id: node.id })}
                onEdgeClick={(_e, edge) => setSelection({ kind: 'edge', index: Number(edge.id.slice(1)) })}
                onPaneClick={() => setSelection({ kind: 'definition' })}
                deleteKeyCode={['Delete', 'Backspace']}
                proOptions={{ hideAttribution: true }}
              >
                <Background />
                <Controls />
              </ReactFlow>
            </div>
          ) : (
            <div className="json-tab">
              <textarea
                aria-label="definition JSON"
                value={jsonText}
                onChange={(e) => editJson(e.target.value)}
                spellCheck={false}
              />
              {jsonProblem && <div className="field-problem">Not applied yet: {jsonProblem}</div>}
            </div>
          )}
          <aside className="inspector">
            {selectedNode && (
              <NodeForm
                key={selectedNode.id}
                extras={extrasAt(`/nodes/${draft.nodes.indexOf(selectedNode)}`)}
                node={selectedNode}
                schema={nodeSchema(schema, selectedNode.type)}
                connectors={connectors}
                problems={pinned.nodes.get(selectedNode.id) ?? []}
                onChange={(next) => setNode(selectedNode.id, next)}
                onDelete={() => {
                  removeNodes([selectedNode.id]);
                  setSelection({ kind: 'definition' });
                }}
              />
            )}
            {selectedEdge && selection.kind === 'edge' && (
              <EdgeForm
                edge={selectedEdge}
                extras={extrasAt(`/edges/${selection.index}`)}
                problems={pinned.edges.get(selection.index) ?? []}
                onChange={(next) => setEdge(selection.index, next)}
                onDelete={() => {
                  removeEdges([selection.index]);
                  setSelection({ kind: 'definition' });
                }}
              />
            )}
            {selection.kind === 'definition' && (
              <DefinitionForm definition={draft} locked={initial.id !== '' && saved !== null} onChange={update} />
            )}
            <h3>Problems</h3>
            <ul className="problems" data-testid="problems">
              {(problems ?? []).map((p, i) => (
                <li key={i}>
                  <code>{p.path || '/'}</code> {p.message}
                </li>
              ))}
            </ul>
            <SampleEditor />
          </aside>
        </div>
      </section>
    </PreviewSampleContext.Provider>
  );
}

function NodeForm(props: {
  node: DefNode;
  extras: FieldExtras;
  schema: JsonSchema | undefined;
  connectors: ConnectorSchemas;
  problems: string[];
  onChange: (n: DefNode) => void;
  onDelete: () => void;
}) {
  const { node } = props;
  const [id, setId] = useState(node.id);
  return (
    <FieldExtrasContext.Provider value={props.extras}>
      <form className="node-form" onSubmit={(e) => e.preventDefault()} aria-label={`node ${node.id}`}>
        <h3>
          {node.type} node <code>{node.id}</code>
        </h3>
        <div className="field">
          <label htmlFor="node.id">id *</label>
          <input
            id="node.id"
            value={id}
            onChange={(e) => setId(e.target.value)}
            onBlur={() => id !== node.id && id.trim() !== '' && props.onChange({ ...node, id: id.trim() })}
          />
        </div>
        {props.problems.map((p, i) => (
          <div key={i} className="field-problem">
            {p}
          </div>
        ))}
        {node.type === 'task' && <TaskAction node={node} connectors={props.connectors} onChange={props.onChange} />}
        {props.schema ? (
          <SchemaFields
            idPrefix="node"
            schema={props.schema}
            value={node}
            skip={node.type === 'task' ? ['id', 'type', 'connector', 'action', 'inputs'] : ['id', 'type']}
            onChange={(v) => props.onChange({ ...(v as DefNode), id: node.id, type: node.type })}
          />
        ) : (
          <p className="muted">The served schema has no form for type "{node.type}".</p>
        )}
        <button type="button" className="danger" onClick={props.onDelete}>
          Delete node
        </button>
      </form>
    </FieldExtrasContext.Provider>
  );
}

/** A task's connector and action as lists from the catalog, and its inputs as the action's params form. */
function TaskAction(props: { node: DefNode; connectors: ConnectorSchemas; onChange: (n: DefNode) => void }) {
  const { node } = props;
  const connector = typeof node.connector === 'string' ? node.connector : '';
  const action = typeof node.action === 'string' ? node.action : '';
  const actions = props.connectors[connector] ?? {};
  const params = actions[action];
  const inputs = (node.inputs as Record<string, unknown> | undefined) ?? {};
  return (
    <>
      <div className="field">
        <label htmlFor="node.connector">connector *</label>
        <select
          id="node.connector"
          value={connector}
          onChange={(e) => props.onChange({ ...node, connector: e.target.value, action: '' })}
        >
          <option value="">—</option>
          {Object.keys(props.connectors).map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="node.action">action *</label>
        <select id="node.action" value={action} onChange={(e) => props.onChange({ ...node, action: e.target.value })}>
          <option value="">—</option>
          {Object.keys(actions).map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
      </div>
      {params ? (
        <fieldset className="nested">
          <legend>
            inputs ({connector} {action})
          </legend>
          <SchemaFields
            idPrefix="inputs"
            pointer="/inputs"
            schema={params}
            value={inputs}
            onChange={(v) => props.onChange({ ...node, inputs: v })}
          />
        </fieldset>
      ) : null}
    </>
  );
}

function EdgeForm(props: {
  edge: DefEdge;
  extras: FieldExtras;
  problems: string[];
  onChange: (e: DefEdge) => void;
  onDelete: () => void;
}) {
  const { edge } = props;
  const set = (key: keyof DefEdge, value: unknown) => {
    const next: Record<string, unknown> = { ...edge };
    if (value === undefined || value === '' || value === false) delete next[key];
    else next[key] = value;
    props.onChange(next as unknown as DefEdge);
  };
  return (
    <form className="edge-form" onSubmit={(e) => e.preventDefault()} aria-label="edge">
      <h3>
        edge {edge.from} → {edge.to}
      </h3>
      {props.problems.map((p, i) => (
        <div key={i} className="field-problem">
          {p}
        </div>
      ))}
      <div className="field">
        <label htmlFor="edge.when">when</label>
        <input id="edge.when" value={edge.when ?? ''} onChange={(e) => set('when', e.target.value)} />
        {props.extras('/when', edge.when, { exact: true })}
      </div>
      <div className="field checkbox">
        <input
          id="edge.default"
          type="checkbox"
          checked={edge.default === true}
          onChange={(e) => set('default', e.target.checked)}
        />
        <label htmlFor="edge.default">default</label>
      </div>
      <div className="field">
        <label htmlFor="edge.on">on</label>
        <select
          id="edge.on"
          value={edge.on ?? 'success'}
          onChange={(e) => set('on', e.target.value === 'success' ? undefined : e.target.value)}
        >
          <option value="success">success</option>
          <option value="error">error</option>
        </select>
      </div>
      <button type="button" className="danger" onClick={props.onDelete}>
        Delete edge
      </button>
    </form>
  );
}

function DefinitionForm(props: { definition: Definition; locked: boolean; onChange: (d: Definition) => void }) {
  const { definition } = props;
  const variables = definition.variables ?? [];
  const setVariables = (next: Variable[]) => props.onChange({ ...definition, variables: next });
  const [newName, setNewName] = useState('');
  return (
    <form className="definition-form" onSubmit={(e) => e.preventDefault()} aria-label="definition">
      <h3>Definition</h3>
      <div className="field">
        <label htmlFor="definition.id">id *</label>
        <input
          id="definition.id"
          value={definition.id}
          readOnly={props.locked}
          onChange={(e) => props.onChange({ ...definition, id: e.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor="definition.name">name</label>
        <input
          id="definition.name"
          value={definition.name ?? ''}
          onChange={(e) => {
            const { name: _name, ...rest } = definition;
            props.onChange(e.target.value === '' ? rest : { ...rest, name: e.target.value });
          }}
        />
      </div>
      <h4>Variables</h4>
      {variables.map((v, i) => (
        <div className="variable-row" key={i}>
          <code>{v.name}</code>
          <select
            aria-label={`variable ${v.name} type`}
            value={v.type}
            onChange={(e) =>
              setVariables(variables.map((x, j) => (j === i ? { ...x, type: e.target.value as Variable['type'] } : x)))
            }
          >
            {VARIABLE_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <label>
            <input
              type="checkbox"
              aria-label={`variable ${v.name} required`}
              checked={v.required === true}
              onChange={(e) =>
                setVariables(
                  variables.map((x, j) => {
                    if (j !== i) return x;
                    const { required: _required, ...rest } = x;
                    return e.target.checked ? { ...rest, required: true } : rest;
                  }),
                )
              }
            />
            required
          </label>
          <button type="button" onClick={() => setVariables(variables.filter((_x, j) => j !== i))}>
            remove
          </button>
        </div>
      ))}
      <div className="variable-row">
        <input
          aria-label="new variable name"
          placeholder="variable name"
          value={newName}
          onChange={(e) => setNewName(e.target.value)}
        />
        <button
          type="button"
          disabled={newName.trim() === '' || variables.some((v) => v.name === newName.trim())}
          onClick={() => {
            setVariables([...variables, { name: newName.trim(), type: 'string' }]);
            setNewName('');
          }}
        >
          Add variable
        </button>
      </div>
    </form>
  );
}

const DRAFT_KEY = 'weft.studio.draft.';

/**
 * Opens `definition` (not stored yet: a template's instantiation) in the Designer. It is handed
 * over in this tab's sessionStorage, so a reload of the Designer still finds it.
 */
export function openInDesigner(definition: Definition): void {
  const key = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  sessionStorage.setItem(DRAFT_KEY + key, JSON.stringify(definition));
  window.location.hash = `#/designer?draft=${key}`;
}

/**
 * `#/designer` (new), `#/designer/{id}[/{version}]` (edit: starts from that version) or
 * `#/designer?draft={key}` (starts from a definition handed over by `openInDesigner`).
 */
export function DesignerPage({
  identity,
  id,
  version,
  draft,
}: {
  identity: Identity;
  id?: string;
  version?: string;
  draft?: string;
}) {
  const [schema, setSchema] = useState<JsonSchema | null>(null);
  const [initial, setInitial] = useState<Definition | null>(null);
  const [connectors, setConnectors] = useState<ConnectorSchemas>({});
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const [served, openapi] = await Promise.all([
        api<JsonSchema>('GET', '/v1/schema/definition.json'),
        api<{ components?: { schemas?: Record<string, JsonSchema> } }>('GET', '/v1/openapi.json'),
      ]);
      let start: Definition = { id: '', variables: [], nodes: [], edges: [] };
      if (draft !== undefined) {
        const held = sessionStorage.getItem(DRAFT_KEY + draft);
        if (held === null)
          throw new Error(
            'This draft is no longer held in this browser tab: open the template from the gallery again.',
          );
        start = JSON.parse(held) as Definition;
      } else if (id) {
        const stored = await api<Definition>(
          'GET',
          version ? route('/v1/definitions', id, 'versions', version) : route('/v1/definitions', id),
        );
        start = { ...stored };
        delete start.version;
      }
      setSchema(served);
      setConnectors(connectorSchemas(openapi));
      setInitial(start);
    } catch (err) {
      setError(err);
    }
  }, [id, version, draft]);
  useEffect(() => {
    void load();
  }, [load]);
  if (!identity.permissions.includes('edit'))
    return (
      <p className="error">Your roles ({identity.roles.join(', ') || 'none'}) do not allow editing definitions.</p>
    );
  if (error) return <ErrorLine error={error} />;
  if (!schema || !initial) return <p>loading the definition schema…</p>;
  return (
    <ReactFlowProvider>
      <Designer
        key={`${id ?? ''}/${version ?? ''}/${draft ?? ''}`}
        identity={identity}
        initial={initial}
        schema={schema}
        connectors={connectors}
      />
    </ReactFlowProvider>
  );
}
