/** Definitions: the list, a definition's graph and versions, and the visual diff of two versions. */
import { useEffect, useState } from 'react';
import { api, describe, route, type Definition, type DefEdge, type Identity } from './api.js';
import { GraphView, type WeftNodeData } from './graph.js';
import { StartRun } from './start-run.js';
import { ErrorLine, go, useLoad, useSearch } from './ui.js';

interface DefinitionItem {
  id: string;
  name?: string;
  latest_version: string;
  active_version?: string;
}

function DefinitionRow({ item }: { item: DefinitionItem }) {
  const versions = useLoad(
    () => api<{ items: unknown[] }>('GET', route('/v1/definitions', item.id, 'versions')),
    [item.id],
  );
  const active = useLoad(
    () =>
      item.active_version ? api<Definition>('GET', route('/v1/definitions', item.id)) : Promise.resolve(undefined),
    [item.id, item.active_version],
  );
  const runs = useLoad(
    () =>
      api<{ items: Array<{ status: string }> }>(
        'GET',
        `/v1/runs?definition_id=${encodeURIComponent(item.id)}&page_size=5`,
      ),
    [item.id],
  );
  return (
    <tr data-testid={`definition-${item.id}`}>
      <td>
        <a href={`#/definitions/${encodeURIComponent(item.id)}`}>{item.id}</a>
      </td>
      <td>{item.name ?? ''}</td>
      <td>{item.active_version ?? '—'}</td>
      <td>{versions.data ? versions.data.items.length : '…'}</td>
      <td>{active.data ? (active.data.triggers ?? []).map((t) => t.type).join(', ') || 'manual' : ''}</td>
      <td className="outcomes">
        {runs.data?.items.map((r, i) => (
          <span key={i} className={`state state-${r.status}`}>
            {r.status}
          </span>
        ))}
        {runs.error ? <ErrorLine error={runs.error} /> : null}
      </td>
    </tr>
  );
}

export function DefinitionsList({ identity }: { identity: Identity }) {
  const list = useLoad(() => api<{ items: DefinitionItem[] }>('GET', '/v1/definitions'), []);
  const { search, setSearch, wanted, matches: items } = useSearch(list.data?.items, (d) => [d.id, d.name]);
  return (
    <section>
      <div className="toolbar">
        <h1>Definitions</h1>
        <input
          aria-label="search definitions"
          placeholder="search by id or name"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        {identity.permissions.includes('edit') && (
          <button type="button" onClick={() => go('#/designer')}>
            New definition
          </button>
        )}
        {identity.permissions.includes('edit') && (
          <button type="button" onClick={() => go('#/templates')}>
            New from template
          </button>
        )}
      </div>
      {list.error ? <ErrorLine error={list.error} /> : null}
      {list.data && items.length === 0 ? <p className="empty">No definitions{wanted ? ' match' : ' yet'}.</p> : null}
      {items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>id</th>
              <th>name</th>
              <th>active</th>
              <th>versions</th>
              <th>triggers</th>
              <th>last runs</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <DefinitionRow key={item.id} item={item} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface VersionItem {
  version: string;
  created_at: string;
  created_by?: string;
}
interface HistoryEvent {
  at: string;
  actor: string;
  action: string;
  version: string;
  comment?: string;
}

export function DefinitionPage({ id, version, identity }: { id: string; version?: string; identity: Identity }) {
  const [reload, setReload] = useState(0);
  const listing = useLoad(() => api<{ items: DefinitionItem[] }>('GET', '/v1/definitions'), [reload]);
  const versions = useLoad(
    () => api<{ items: VersionItem[] }>('GET', route('/v1/definitions', id, 'versions')),
    [id, reload],
  );
  const history = useLoad(
    () => api<{ items: HistoryEvent[] }>('GET', route('/v1/definitions', id, 'history')),
    [id, reload],
  );
  const item = listing.data?.items.find((d) => d.id === id);
  const shownVersion = version ?? item?.active_version ?? item?.latest_version;
  const definition = useLoad(
    () =>
      shownVersion
        ? api<Definition>('GET', route('/v1/definitions', id, 'versions', shownVersion))
        : Promise.resolve(undefined),
    [id, shownVersion],
  );
  const [compare, setCompare] = useState<[string, string]>(['', '']);
  const [message, setMessage] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  useEffect(() => {
    const items = versions.data?.items ?? [];
    if (items.length >= 2) setCompare([items[items.length - 2]?.version ?? '', items[items.length - 1]?.version ?? '']);
  }, [versions.data]);
  const activate = async (v: string) => {
    try {
      await api('PUT', route('/v1/definitions', id, 'active'), { version: v });
      setMessage(`version ${v} is now active`);
      setReload((n) => n + 1);
    } catch (err) {
      setMessage(err);
    }
  };
  const approve = async (v: string) => {
    try {
      await api('POST', route('/v1/definitions', id, 'versions', v, 'approvals'), { approved: true });
      setMessage(`version ${v} approved`);
      setReload((n) => n + 1);
    } catch (err) {
      setMessage(err);
    }
  };
  const eventsOf = (v: string) => (history.data?.items ?? []).filter((e) => e.version === v);
  return (
    <section className="split">
      <div className="main">
        <div className="toolbar">
          <h1>
            {id} {definition.data?.name ? `— ${definition.data.name}` : ''}
          </h1>
          <span className="muted">version {shownVersion ?? '…'}</span>
          {identity.permissions.includes('edit') && (
            <button
              type="button"
              onClick={() => go(`#/designer/${encodeURIComponent(id)}${shownVersion ? `/${shownVersion}` : ''}`)}
            >
              Edit in designer
            </button>
          )}
          {identity.permissions.includes('run') && definition.data && (
            <button type="button" onClick={() => setStarting(true)}>
              Start run
            </button>
          )}
          <a href={`#/runs?definition_id=${encodeURIComponent(id)}`}>runs</a>
        </div>
        {typeof message === 'string' ? <p className="ok">{message}</p> : message ? <ErrorLine error={message} /> : null}
        {definition.error ? <ErrorLine error={definition.error} /> : null}
        {starting && definition.data && <StartRun definition={definition.data} onClose={() => setStarting(false)} />}
        {definition.data && <GraphView definition={definition.data} />}
        {definition.data && <DefinitionAside definition={definition.data} />}
      </div>
      <aside>
        <h2>Versions</h2>
        {versions.error ? <ErrorLine error={versions.error} /> : null}
        <table className="list" data-testid="versions">
          <thead>
            <tr>
              <th>v</th>
              <th>when · who</th>
              <th>state</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {[...(versions.data?.items ?? [])].reverse().map((v) => {
              const events = eventsOf(v.version);
              const pending =
                events.some((e) => e.action === 'submitted') &&
                !events.some((e) => e.action === 'approved' || e.action === 'activated');
              return (
                <tr key={v.version}>
                  <td>
                    <a href={`#/definitions/${encodeURIComponent(id)}/versions/${v.version}`}>{v.version}</a>
                  </td>
                  <td>
                    {new Date(v.created_at).toLocaleString()} · {v.created_by ?? ''}
                    {events.map((e, i) => (
                      <div key={i} className="muted small">
                        {e.action} by {e.actor}
                        {e.comment ? `: ${e.comment}` : ''}
                      </div>
                    ))}
                  </td>
                  <td>
                    {item?.active_version === v.version ? <span className="state state-completed">active</span> : null}
                  </td>
                  <td>
                    {identity.permissions.includes('edit') && item?.active_version !== v.version && (
                      <button type="button" onClick={() => void activate(v.version)}>
                        Activate
                      </button>
                    )}
                    {identity.permissions.includes('approve') && pending && (
                      <button type="button" onClick={() => void approve(v.version)}>
                        Approve
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {(versions.data?.items.length ?? 0) >= 2 && (
          <div className="compare">
            <h3>Compare versions</h3>
            <select
              aria-label="compare from"
              value={compare[0]}
              onChange={(e) => setCompare([e.target.value, compare[1]])}
            >
              {versions.data?.items.map((v) => (
                <option key={v.version}>{v.version}</option>
              ))}
            </select>
            {' → '}
            <select
              aria-label="compare to"
              value={compare[1]}
              onChange={(e) => setCompare([compare[0], e.target.value])}
            >
              {versions.data?.items.map((v) => (
                <option key={v.version}>{v.version}</option>
              ))}
            </select>
            <button
              type="button"
              onClick={() => go(`#/definitions/${encodeURIComponent(id)}/diff/${compare[0]}/${compare[1]}`)}
            >
              Show diff
            </button>
          </div>
        )}
      </aside>
    </section>
  );
}

/** Variables, triggers and error handlers of a definition, beside its graph. */
function DefinitionAside({ definition }: { definition: Definition }) {
  return (
    <div className="facts">
      <div>
        <h3>Variables</h3>
        {(definition.variables ?? []).length === 0 ? <span className="muted">none</span> : null}
        {(definition.variables ?? []).map((v) => (
          <div key={v.name}>
            <code>{v.name}</code>: {v.type}
            {v.required ? ' (required)' : ''}
            {v.secret ? ' (secret)' : ''}
          </div>
        ))}
      </div>
      <div>
        <h3>Triggers</h3>
        {(definition.triggers ?? []).length === 0 ? <span className="muted">manual only</span> : null}
        {(definition.triggers ?? []).map((t, i) => (
          <div key={i}>
            <code>{JSON.stringify(t)}</code>
          </div>
        ))}
      </div>
      <div>
        <h3>Error handlers</h3>
        {(definition.error_handlers ?? []).length === 0 ? <span className="muted">none</span> : null}
        {(definition.error_handlers ?? []).map((h) => (
          <div key={h.id}>
            <code>{h.id}</code>: {h.action} {h.match ? JSON.stringify(h.match) : '(every node)'}
          </div>
        ))}
      </div>
    </div>
  );
}

interface DiffBody {
  identical: boolean;
  fields: Array<{ field: string; before?: unknown; after?: unknown }>;
  nodes: {
    added: Array<{ id: string }>;
    removed: Array<{ id: string }>;
    changed: Array<{ id: string; fields: string[]; before: unknown; after: unknown }>;
  };
  edges: {
    added: DefEdge[];
    removed: DefEdge[];
    changed: Array<{ from: string; to: string; on?: string; fields: string[]; before: unknown; after: unknown }>;
  };
}

const edgeKey = (e: { from: string; to: string; on?: string | undefined }) => `${e.from}>${e.to}>${e.on ?? 'success'}`;

export function DiffPage({ id, a, b }: { id: string; a: string; b: string }) {
  const diff = useLoad(() => api<DiffBody>('GET', route('/v1/definitions', id, 'versions', a, 'diff', b)), [id, a, b]);
  const before = useLoad(() => api<Definition>('GET', route('/v1/definitions', id, 'versions', a)), [id, a]);
  const after = useLoad(() => api<Definition>('GET', route('/v1/definitions', id, 'versions', b)), [id, b]);
  const error = diff.error ?? before.error ?? after.error;
  if (error) return <ErrorLine error={error} />;
  if (!diff.data || !before.data || !after.data) return <p>loading the diff…</p>;
  const d = diff.data;
  // The union of both versions: the newer graph plus what the older had and the newer lost.
  const removedNodes = before.data.nodes.filter((n) => d.nodes.removed.some((r) => r.id === n.id));
  const removedEdges = d.edges.removed;
  const union: Definition = {
    ...after.data,
    nodes: [...after.data.nodes, ...removedNodes],
    edges: [...(after.data.edges ?? []), ...removedEdges],
  };
  const mark = new Map<string, WeftNodeData['diff']>();
  for (const n of d.nodes.added) mark.set(n.id, 'added');
  for (const n of d.nodes.removed) mark.set(n.id, 'removed');
  for (const n of d.nodes.changed) mark.set(n.id, 'changed');
  const added = new Set(d.edges.added.map(edgeKey));
  const changed = new Set(d.edges.changed.map(edgeKey));
  const afterCount = (after.data.edges ?? []).length;
  return (
    <section className="split">
      <div className="main">
        <div className="toolbar">
          <h1>
            {id}: version {a} → {b}
          </h1>
          <a href={`#/definitions/${encodeURIComponent(id)}`}>back to the definition</a>
        </div>
        {d.identical ? <p className="ok">The two versions are identical.</p> : null}
        <div className="legend">
          <span className="diff-added">added</span> <span className="diff-removed">removed</span>{' '}
          <span className="diff-changed">changed</span>
        </div>
        <GraphView
          definition={union}
          testId="diff-graph"
          overlay={{
            data: (nodeId) => {
              const m = mark.get(nodeId);
              return m ? { diff: m } : {};
            },
            edgeClass: (edge, index) =>
              index >= afterCount
                ? 'diff-removed'
                : added.has(edgeKey(edge))
                  ? 'diff-added'
                  : changed.has(edgeKey(edge))
                    ? 'diff-changed'
                    : undefined,
          }}
        />
      </div>
      <aside data-testid="diff-fields">
        <h2>What changed</h2>
        {d.nodes.added.map((n) => (
          <div key={`a${n.id}`} className="diff-added">
            node <code>{n.id}</code> added
          </div>
        ))}
        {d.nodes.removed.map((n) => (
          <div key={`r${n.id}`} className="diff-removed">
            node <code>{n.id}</code> removed
          </div>
        ))}
        {d.nodes.changed.map((n) => (
          <div key={`c${n.id}`} className="diff-changed">
            node <code>{n.id}</code>: {n.fields.join(', ')}
            {n.fields.map((f) => (
              <pre key={f} className="small">
                {f}: {JSON.stringify((n.before as Record<string, unknown>)[f])} →{' '}
                {JSON.stringify((n.after as Record<string, unknown>)[f])}
              </pre>
            ))}
          </div>
        ))}
        {[
          ...d.edges.added.map((e) => ['added', e] as const),
          ...d.edges.removed.map((e) => ['removed', e] as const),
        ].map(([kind, e], i) => (
          <div key={`e${i}`} className={`diff-${kind}`}>
            edge {e.from} → {e.to} {kind}
          </div>
        ))}
        {d.edges.changed.map((e, i) => (
          <div key={`ec${i}`} className="diff-changed">
            edge {e.from} → {e.to}: {e.fields.join(', ')}
          </div>
        ))}
        {d.fields.map((f) => (
          <div key={f.field} className="diff-changed">
            {f.field}:{' '}
            <pre className="small">
              {JSON.stringify(f.before)} → {JSON.stringify(f.after)}
            </pre>
          </div>
        ))}
        {d.identical ? <p>{describe('nothing changed')}</p> : null}
      </aside>
    </section>
  );
}
