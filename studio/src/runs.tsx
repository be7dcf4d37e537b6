/** Runs: the list (filters, paging) and a run's live page (graph with node states, detail, controls). */
import { useEffect, useState } from 'react';
import { api, route, type Definition, type Identity, type NodeState, type RunState } from './api.js';
import { GraphView } from './graph.js';
import { VariableInputs, collectValues } from './start-run.js';
import { ErrorLine, Json, go, useLoad } from './ui.js';

/** The statuses `GET /v1/runs?status=` takes (a terminated or timed-out run is listed as failed). */
const STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'];
const CLOSED = new Set(['completed', 'failed', 'cancelled', 'terminated', 'timed_out']);

interface RunItem {
  run_id: string;
  definition_id: string;
  definition_version: string;
  status: string;
  started_at: string;
  closed_at?: string;
}

/** An ISO instant as a `datetime-local` value in the browser's time zone (to the second). */
export function toLocalInput(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${String(t.getFullYear()).padStart(4, '0')}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}` +
    `T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`
  );
}

/**
 * A `datetime-local` value (the browser's time zone) as the ISO instant the API takes; undefined
 * while it is not a whole date yet (a year being typed passes through 0002, 0020, 0202).
 */
function fromLocalInput(value: string): string | undefined {
  if (value === '') return '';
  const t = new Date(value);
  return Number.isNaN(t.getTime()) || t.getFullYear() < 1000 ? undefined : t.toISOString();
}

/** A from/to field: edits stay in the field until they are a whole date, then become the filter. */
function TimeFilter({ label, value, onChange }: { label: string; value: string; onChange: (iso: string) => void }) {
  const [draft, setDraft] = useState(toLocalInput(value));
  useEffect(() => setDraft(toLocalInput(value)), [value]);
  return (
    <input
      type="datetime-local"
      step="1"
      aria-label={label}
      value={draft}
      onChange={(e) => {
        setDraft(e.target.value);
        const iso = fromLocalInput(e.target.value);
        if (iso !== undefined && iso !== value) onChange(iso);
      }}
    />
  );
}

export function RunsList({ query }: { query: URLSearchParams }) {
  const definitionId = query.get('definition_id') ?? '';
  const version = definitionId ? (query.get('version') ?? '') : '';
  const status = query.get('status') ?? '';
  // Kept in the fragment as ISO instants, so a shared link means the same window everywhere.
  const startedAfter = query.get('started_after') ?? '';
  const startedBefore = query.get('started_before') ?? '';
  const [tokens, setTokens] = useState<string[]>([]);
  const token = tokens[tokens.length - 1];
  const definitions = useLoad(() => api<{ items: Array<{ id: string }> }>('GET', '/v1/definitions'), []);
  const versions = useLoad(
    () =>
      definitionId
        ? api<{ items: Array<{ version: string }> }>('GET', route('/v1/definitions', definitionId, 'versions'))
        : Promise.resolve({ items: [] }),
    [definitionId],
  );
  const params = new URLSearchParams();
  if (definitionId) params.set('definition_id', definitionId);
  if (version) params.set('version', version);
  if (status) params.set('status', status);
  if (startedAfter) params.set('started_after', startedAfter);
  if (startedBefore) params.set('started_before', startedBefore);
  params.set('page_size', '20');
  if (token) params.set('page_token', token);
  const loaded = useLoad(
    () => api<{ items: RunItem[]; next_page_token?: string }>('GET', `/v1/runs?${params.toString()}`),
    [params.toString()],
  );
  // Only the answer for the filters shown: the previous filter's rows are not this list's.
  const page = loaded.fresh ? loaded.data : undefined;
  const filter = (changes: Record<string, string>) => {
    const next = new URLSearchParams(query);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setTokens([]);
    go(`#/runs?${next.toString()}`);
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Runs</h1>
        <select
          aria-label="filter by definition"
          value={definitionId}
          // Versions are numbered per definition: another definition starts with every version.
          onChange={(e) => filter({ definition_id: e.target.value, version: '' })}
        >
          <option value="">every definition</option>
          {definitions.data?.items.map((d) => (
            <option key={d.id}>{d.id}</option>
          ))}
        </select>
        {definitionId ? (
          <select aria-label="filter by version" value={version} onChange={(e) => filter({ version: e.target.value })}>
            <option value="">every version</option>
            {versions.data?.items.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
        ) : null}
        <select aria-label="filter by status" value={status} onChange={(e) => filter({ status: e.target.value })}>
          <option value="">every status</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <span className="muted">started from</span>
        <TimeFilter label="started from" value={startedAfter} onChange={(iso) => filter({ started_after: iso })} />
        <span className="muted">to</span>
        <TimeFilter label="started before" value={startedBefore} onChange={(iso) => filter({ started_before: iso })} />
        <button type="button" onClick={loaded.reload}>
          Refresh
        </button>
      </div>
      {loaded.error ? <ErrorLine error={loaded.error} /> : null}
      <table className="list" data-testid="runs">
        <thead>
          <tr>
            <th>run</th>
            <th>definition</th>
            <th>status</th>
            <th>started</th>
            <th>closed</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((r) => (
            <tr key={r.run_id} data-testid={`run-${r.run_id}`}>
              <td>
                <a href={`#/runs/${encodeURIComponent(r.run_id)}`}>{r.run_id}</a>
              </td>
              <td>
                {r.definition_id} v{r.definition_version}
              </td>
              <td>
                <span className={`state state-${r.status}`}>{r.status}</span>
              </td>
              <td>{new Date(r.started_at).toLocaleString()}</td>
              <td>{r.closed_at ? new Date(r.closed_at).toLocaleString() : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 ? <p className="empty">No runs.</p> : null}
      {loaded.loading ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : null}
      <div className="buttons">
        <button type="button" disabled={tokens.length === 0} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page?.next_page_token}
          onClick={() => page?.next_page_token && setTokens([...tokens, page.next_page_token])}
        >
          Next page
        </button>
      </div>
    </section>
  );
}

/** Polls the run's state while it can still change; closed runs are read once more and left. */
function useRunState(runId: string) {
  const [state, setState] = useState<RunState | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api<RunState>('GET', route('/v1/runs', runId)).then(
        (s) => {
          if (!current) return;
          setState(s);
          setError(null);
          if (!CLOSED.has(s.status)) timer = setTimeout(poll, 1000);
        },
        (err: unknown) => {
          if (!current) return;
          setError(err);
          timer = setTimeout(poll, 3000);
        },
      );
    };
    poll();
    return () => {
      current = false;
      if (timer) clearTimeout(timer);
    };
  }, [runId, tick]);
  return { state, error, refresh: () => setTick((n) => n + 1) };
}

/** A map node's item counts as the state reports them (`nodes[id].items`). */
function itemsOf(node: NodeState | undefined): string | undefined {
  const items = node?.items;
  if (!items) return undefined;
  const running = items.running > 0 ? `, ${items.running} running` : '';
  const failed = items.failed > 0 ? `, ${items.failed} failed` : '';
  return `${items.completed}/${items.total} items${running}${failed}`;
}

/**
 * What the saga did to a node: compensations are run-level transitions (`to: "compensation"`)
 * whose note names the node (`<id>: compensated`, `<id>: compensation failed: …`).
 */
function compensationOf(history: NonNullable<RunState['history']>, id: string): string | undefined {
  const note = [...history].reverse().find((h) => h.to === 'compensation' && h.note?.startsWith(`${id}: `))?.note;
  if (note === undefined) return undefined;
  return note.slice(id.length + 2).startsWith('compensation failed') ? 'compensation failed' : 'compensated';
}

/** The marks beside a node's status: its output came from the cache, the saga compensated it. */
function marksOf(state: RunState, id: string): string[] {
  const marks: string[] = [];
  if (state.nodes[id]?.cached) marks.push('cached');
  const compensation = compensationOf(state.history ?? [], id);
  if (compensation) marks.push(compensation);
  return marks;
}

/** The fields a node reads its input from, as the definition declares them (not resolved). */
const INPUT_FIELDS: Record<string, string[]> = {
  task: ['connector', 'action', 'inputs'],
  ai: ['model', 'system', 'prompt_template'],
  set: ['assign'],
  condition: ['expression'],
  wait: ['duration', 'until'],
  event: ['event_type', 'correlation_key', 'filters'],
  subworkflow: ['definition', 'version', 'inputs'],
  map: ['items', 'task', 'ai', 'subworkflow'],
  end: ['result', 'message'],
};

function declaredInputs(node: Definition['nodes'][number] | undefined): Record<string, unknown> | undefined {
  if (!node) return undefined;
  const fields = (INPUT_FIELDS[node.type] ?? []).filter((f) => node[f] !== undefined);
  return fields.length === 0 ? undefined : Object.fromEntries(fields.map((f) => [f, node[f]]));
}

export function RunPage({ runId, identity }: { runId: string; identity: Identity }) {
  const { state, error, refresh } = useRunState(runId);
  const definition = useLoad(
    () =>
      state
        ? api<Definition>('GET', route('/v1/definitions', state.definition_id, 'versions', state.definition_version))
        : Promise.resolve(undefined),
    [state?.definition_id, state?.definition_version],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<unknown>(null);
  const act = async (label: string, method: string, path: string, body: unknown) => {
    try {
      const answer = await api<{ run_id?: string } | undefined>(method, path, body);
      setOutcome(`${label}: accepted`);
      // A closed run is retried as a new run (`<id>.retry-<n>`): follow it.
      if (answer?.run_id && answer.run_id !== runId) {
        go(`#/runs/${encodeURIComponent(answer.run_id)}`);
        return;
      }
      refresh();
    } catch (err) {
      setOutcome(err);
    }
  };
  if (!state) return error ? <ErrorLine error={error} /> : <p>loading the run…</p>;
  const canRun = identity.permissions.includes('run');
  const canApprove = identity.permissions.includes('approve');
  const open = !CLOSED.has(state.status);
  const base = route('/v1/runs', runId);
  const node = selected ? state.nodes[selected] : undefined;
  const selectedNode = definition.data?.nodes.find((n) => n.id === selected);
  const waitingApprovals = (definition.data?.nodes ?? []).filter(
    (n) => n.type === 'approval' && state.nodes[n.id]?.status === 'waiting',
  );
  const waitingEvents = (definition.data?.nodes ?? []).filter(
    (n) => n.type === 'event' && state.nodes[n.id]?.status === 'waiting',
  );
  return (
    <section className="split">
      <div className="main">
        <div className="toolbar">
          <h1>Run {runId}</h1>
          <span className={`state state-${state.status}`} data-testid="run-status">
            {state.status}
          </span>
          <a href={`#/definitions/${encodeURIComponent(state.definition_id)}/versions/${state.definition_version}`}>
            {state.definition_id} v{state.definition_version}
          </a>
          {state.ui_url && (
            <a href={state.ui_url} target="_blank" rel="noreferrer">
              Temporal Web UI
            </a>
          )}
          {state.cost?.usd ? <span className="muted">cost ${state.cost.usd.toFixed(4)}</span> : null}
        </div>
        {error ? <ErrorLine error={error} /> : null}
        {canRun && (
          <div className="controls" data-testid="controls">
            {state.status === 'running' && (
              <button type="button" onClick={() => void act('pause', 'POST', `${base}/pause`, {})}>
                Pause
              </button>
            )}
            {state.status === 'paused' && (
              <button type="button" onClick={() => void act('resume', 'POST', `${base}/resume`, {})}>
                Resume
              </button>
            )}
            {open && (
              <button type="button" onClick={() => void act('cancel', 'POST', `${base}/cancel`, {})}>
                Cancel
              </button>
            )}
            {(state.status === 'failed' || state.status === 'paused') && (
              <button
                type="button"
                onClick={() => void act('retry', 'POST', `${base}/retry`, selected ? { node: selected } : {})}
              >
                Retry{selected ? ` ${selected}` : ''}
              </button>
            )}
          </div>
        )}
        {typeof outcome === 'string' ? <p className="ok">{outcome}</p> : outcome ? <ErrorLine error={outcome} /> : null}
        {canApprove &&
          waitingApprovals.map((n) => (
            <ApprovalBox
              key={n.id}
              node={n.id}
              onDecide={(body) =>
                act(
                  `${body.approved ? 'approve' : 'reject'} ${n.id}`,
                  'POST',
                  `${base}/approvals/${encodeURIComponent(n.id)}`,
                  body,
                )
              }
            />
          ))}
        {canRun &&
          waitingEvents.map((n) => (
            <EventBox
              key={n.id}
              node={n.id}
              eventType={String(n.event_type)}
              onSend={(body) => act(`event for ${n.id}`, 'POST', '/v1/events', body)}
            />
          ))}
        {definition.error ? <ErrorLine error={definition.error} /> : null}
        {definition.data && (
          <GraphView
            definition={definition.data}
            testId="run-graph"
            onNodeClick={setSelected}
            overlay={{
              data: (id) => {
                const s = state.nodes[id];
                const items = itemsOf(s);
                const marks = marksOf(state, id);
                return {
                  status: s?.status ?? 'pending',
                  ...(s?.attempts !== undefined ? { attempts: s.attempts } : {}),
                  ...(items ? { items } : {}),
                  ...(marks.length ? { marks } : {}),
                };
              },
            }}
          />
        )}
      </div>
      <aside>
        {selected ? (
          <div data-testid="node-detail">
            <h2>
              Node {selected}{' '}
              <span className={`state state-${node?.status ?? 'pending'}`}>{node?.status ?? 'pending'}</span>
            </h2>
            {marksOf(state, selected).length > 0 && (
              <p data-testid="node-marks">{marksOf(state, selected).join(' · ')}</p>
            )}
            {node?.attempts !== undefined && <p>attempts: {node.attempts}</p>}
            {itemsOf(node) && <p data-testid="node-items">{itemsOf(node)}</p>}
            {nodeDuration(state.history ?? [], selected) && (
              <p>duration: {nodeDuration(state.history ?? [], selected)}</p>
            )}
            {nodeCost(node) && <p>cost: {nodeCost(node)}</p>}
            <h3>Input</h3>
            <ResolvedInput runId={runId} node={selected} version={`${node?.status ?? ''}/${node?.attempts ?? 0}`} />
            <h3>Declared (templates unresolved)</h3>
            {declaredInputs(selectedNode) ? (
              <div data-testid="node-input">
                <Json value={declaredInputs(selectedNode)} />
              </div>
            ) : (
              <p className="muted">This node declares no input.</p>
            )}
            <h3>Output</h3>
            <Json value={node?.output} />
            {node?.error !== undefined && (
              <>
                <h3>Error</h3>
                <Json value={node.error} />
              </>
            )}
            <h3>Lineage: what it wrote, from what</h3>
            <Lineage runId={runId} node={selected} />
            <h3>History</h3>
            <ul className="small">
              {(state.history ?? [])
                .filter((h) => h.node === selected)
                .map((h, i) => (
                  <li key={i}>
                    {new Date(h.at).toLocaleTimeString()} {h.from} → {h.to}
                    {h.by ? ` by ${h.by}` : ''}
                    {h.note ? `: ${h.note}` : ''}
                  </li>
                ))}
            </ul>
            {canRun && open && (
              <SkipBox node={selected} onSkip={(body) => act(`skip ${selected}`, 'POST', `${base}/skip`, body)} />
            )}
          </div>
        ) : (
          <p className="muted">Click a node to see its output, error, lineage and history.</p>
        )}
        <h2>Variables</h2>
        <Json value={state.variables} />
        {canRun && open && definition.data && (
          <VariablesBox
            definition={definition.data}
            onSet={(variables) => act('set variables', 'PATCH', `${base}/variables`, { variables })}
          />
        )}
        {state.error && (
          <>
            <h2>Error</h2>
            <Json value={state.error} />
          </>
        )}
        {state.result !== undefined && (
          <>
            <h2>Result</h2>
            <Json value={state.result} />
          </>
        )}
      </aside>
    </section>
  );
}

/** What a node's resolved input answers (`GET /v1/runs/{id}/nodes/{node}/input`). */
interface NodeInputAnswer {
  input: unknown;
  reason?: string;
  calls: number;
  items?: Array<{ input: unknown; index?: number }>;
}

/**
 * The input of the node's most recent call, templates resolved and secret-derived values masked
 * (read from the run's history); a map also its item calls. Reloaded when the node moves on.
 */
function ResolvedInput({ runId, node, version }: { runId: string; node: string; version: string }) {
  const answer = useLoad(
    () => api<NodeInputAnswer>('GET', route('/v1/runs', runId, 'nodes', node, 'input')),
    [runId, node, version],
  );
  if (answer.error) return <ErrorLine error={answer.error} />;
  if (!answer.data) return <p className="muted">loading…</p>;
  const { input, reason, calls, items } = answer.data;
  if (input === null)
    return (
      <p className="muted" data-testid="node-input-reason">
        {reason ?? 'No call.'}
      </p>
    );
  return (
    <div data-testid="node-resolved-input">
      {items && (
        <p className="small">
          {calls} item call{calls === 1 ? '' : 's'}
          {items.length < calls ? `, the last ${items.length} shown` : ''}; the most recent:
        </p>
      )}
      <Json value={input} />
      {items && items.length > 1 && (
        <details>
          <summary>all item inputs shown</summary>
          <Json value={items.map((item) => item.input)} />
        </details>
      )}
    </div>
  );
}

/** What the node wrote: each variable's lineage entries from this node (`GET /v1/runs/{id}/lineage`). */
function Lineage({ runId, node }: { runId: string; node: string }) {
  const lineage = useLoad(
    () =>
      api<{ variables: Record<string, { entries: Array<{ node?: string; [field: string]: unknown }> }> }>(
        'GET',
        route('/v1/runs', runId, 'lineage'),
      ),
    [runId, node],
  );
  if (lineage.error) return <ErrorLine error={lineage.error} />;
  if (!lineage.data) return <p className="muted">loading…</p>;
  const written = Object.fromEntries(
    Object.entries(lineage.data.variables)
      .map(([name, v]) => [name, v.entries.filter((e) => e.node === node)] as const)
      .filter(([, entries]) => entries.length > 0),
  );
  return Object.keys(written).length === 0 ? (
    <p className="muted">This node wrote no variable.</p>
  ) : (
    <Json value={written} />
  );
}

function ApprovalBox({
  node,
  onDecide,
}: {
  node: string;
  onDecide: (body: { approved: boolean; comment?: string }) => Promise<void>;
}) {
  const [comment, setComment] = useState('');
  const body = (approved: boolean) => ({ approved, ...(comment.trim() ? { comment: comment.trim() } : {}) });
  return (
    <div className="approval" data-testid={`approval-${node}`}>
      <strong>{node}</strong> is waiting for a decision.
      <label htmlFor={`comment-${node}`}>comment</label>
      <input id={`comment-${node}`} value={comment} onChange={(e) => setComment(e.target.value)} />
      <button type="button" onClick={() => void onDecide(body(true))}>
        Approve
      </button>
      <button type="button" className="danger" onClick={() => void onDecide(body(false))}>
        Reject
      </button>
    </div>
  );
}

function EventBox({
  node,
  eventType,
  onSend,
}: {
  node: string;
  eventType: string;
  onSend: (body: unknown) => Promise<void>;
}) {
  const [key, setKey] = useState('');
  const [payload, setPayload] = useState('{}');
  let parsed: unknown;
  let problem: string | null = null;
  try {
    parsed = JSON.parse(payload);
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
  }
  return (
    <div className="approval">
      <strong>{node}</strong> waits for an event <code>{eventType}</code>.
      <label htmlFor={`event-key-${node}`}>correlation key</label>
      <input id={`event-key-${node}`} value={key} onChange={(e) => setKey(e.target.value)} />
      <label htmlFor={`event-payload-${node}`}>payload (JSON)</label>
      <input id={`event-payload-${node}`} value={payload} onChange={(e) => setPayload(e.target.value)} />
      {problem && <span className="field-problem">{problem}</span>}
      <button
        type="button"
        disabled={problem !== null}
        onClick={() =>
          void onSend({ event_type: eventType, payload: parsed, ...(key ? { correlation_key: key } : {}) })
        }
      >
        Deliver test event
      </button>
    </div>
  );
}

function SkipBox({ node, onSkip }: { node: string; onSkip: (body: unknown) => Promise<void> }) {
  const [output, setOutput] = useState('');
  let parsed: unknown;
  let problem: string | null = null;
  if (output.trim() !== '') {
    try {
      parsed = JSON.parse(output);
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  return (
    <div className="skip">
      <h3>Skip {node}</h3>
      <label htmlFor="skip-output">output (JSON, optional)</label>
      <input id="skip-output" value={output} onChange={(e) => setOutput(e.target.value)} />
      {problem && <div className="field-problem">{problem}</div>}
      <button
        type="button"
        disabled={problem !== null}
        onClick={() => void onSkip({ node, ...(output.trim() ? { output: parsed } : {}) })}
      >
        Skip node
      </button>
    </div>
  );
}

function VariablesBox({
  definition,
  onSet,
}: {
  definition: Definition;
  onSet: (variables: Record<string, unknown>) => Promise<void>;
}) {
  const variables = (definition.variables ?? []).filter((v) => !v.secret).map((v) => ({ ...v, required: false }));
  const [texts, setTexts] = useState<Record<string, string>>({});
  const { values, problems } = collectValues(variables, texts);
  if (variables.length === 0) return null;
  return (
    <details className="variables-box">
      <summary>Modify variables</summary>
      <VariableInputs variables={variables} texts={texts} onChange={setTexts} prefix="set" />
      {problems.map((p) => (
        <div key={p} className="field-problem">
          {p}
        </div>
      ))}
      <button
        type="button"
        disabled={problems.length > 0 || Object.keys(values).length === 0}
        onClick={() => void onSet(values)}
      >
        Set variables
      </button>
    </details>
  );
}

const CLOSED_NODE = new Set(['completed', 'failed', 'skipped', 'cancelled', 'compensated']);

/**
 * How long a node took, from its history: its first start (running or waiting) to its last close;
 * while it is still open, since its start. Undefined before it started.
 */
function nodeDuration(history: NonNullable<RunState['history']>, node: string): string | undefined {
  const own = history.filter((h) => h.node === node);
  const start = own.find((h) => h.to === 'running' || h.to === 'waiting');
  if (!start) return undefined;
  const end = [...own].reverse().find((h) => h.to !== undefined && CLOSED_NODE.has(h.to));
  const ms = Math.max(0, (end ? Date.parse(end.at) : Date.now()) - Date.parse(start.at));
  const text = ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
  return end ? text : `${text} so far`;
}

/** A node's model cost as the state reports it (ai nodes and maps of them). */
function nodeCost(node: NodeState | undefined): string | undefined {
  const cost = node?.cost as { usd?: number; tokens?: { input?: number; output?: number } } | undefined;
  if (!cost || typeof cost.usd !== 'number') return undefined;
  const tokens = cost.tokens ? ` (${cost.tokens.input ?? 0} in, ${cost.tokens.output ?? 0} out tokens)` : '';
  return `$${cost.usd.toFixed(4)}${tokens}`;
}
