/**
 * The template gallery: the tenant's templates (`GET /v1/templates`: the starter library and the
 * tenant's own), and a template's page with a parameter form generated from its parameter
 * declarations. "Open in designer" instantiates it without storing (`POST
 * /v1/templates/{id}/instantiate`: the gateway substitutes and validates) and hands the
 * definition to the Designer; "Create definition" instantiates with `submit: true` (stored as
 * `POST /v1/definitions` stores it, four-eyes included).
 */
import { useState } from 'react';
import { ApiError, api, route, type Definition, type Identity } from './api.js';
import { openInDesigner } from './designer.js';
import { FieldTools } from './expressions.js';
import { FieldExtrasContext, SchemaFields, type FieldExtras, type JsonSchema } from './schema-form.js';
import { ErrorLine, go, useLoad, useSearch } from './ui.js';

/** A parameter declaration, as the template routes serve it (src/templates/template-schema.ts). */
export interface TemplateParameter {
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';
  description?: string;
  required?: boolean;
  default?: unknown;
  example?: unknown;
  values?: unknown[];
  minimum?: number;
  maximum?: number;
  min_length?: number;
  max_length?: number;
}

interface TemplateSummary {
  id: string;
  name: string;
  description?: string;
  parameters: TemplateParameter[];
  builtin: boolean;
  created_at?: string;
  created_by?: string;
}

type TemplateView = TemplateSummary & { definition: Record<string, unknown> };

/** The value `"***"`: a secret's default the API never shows. */
const MASK = '***';

/** Whether a parameter must be given: no default, and not `required: false`. */
export function mustBeGiven(p: TemplateParameter): boolean {
  return p.default === undefined && p.required !== false;
}

/** The parameters as an object schema, so the form is the one the Designer's fields use. */
export function parametersSchema(parameters: TemplateParameter[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const p of parameters) {
    const base: JsonSchema = {
      ...(p.description ? { description: p.description } : {}),
      ...(p.default !== undefined ? { default: p.default } : {}),
      ...(p.example !== undefined ? { examples: [p.example] } : {}),
    };
    if (p.type === 'string') properties[p.name] = { ...base, type: 'string' };
    else if (p.type === 'number' || p.type === 'integer')
      properties[p.name] = {
        ...base,
        type: p.type,
        ...(p.minimum !== undefined ? { minimum: p.minimum } : {}),
        ...(p.maximum !== undefined ? { maximum: p.maximum } : {}),
      };
    // A select of true / false: "false" must be choosable when the default is true.
    else if (p.type === 'boolean') properties[p.name] = { ...base, enum: [true, false] };
    else if (p.type === 'enum') properties[p.name] = { ...base, enum: p.values ?? [] };
    else properties[p.name] = base; // json: edited as JSON text
  }
  return { type: 'object', properties, required: parameters.filter(mustBeGiven).map((p) => p.name) };
}

function TemplateCard({ template, identity }: { template: TemplateSummary; identity: Identity }) {
  const [problem, setProblem] = useState<unknown>(null);
  const [deleted, setDeleted] = useState(false);
  if (deleted) return null;
  const remove = async () => {
    try {
      await api('DELETE', route('/v1/templates', template.id));
      setDeleted(true);
    } catch (err) {
      setProblem(err);
    }
  };
  return (
    <li className="template-card" data-testid={`template-${template.id}`}>
      <h2>
        <a href={`#/templates/${encodeURIComponent(template.id)}`}>{template.name}</a>
      </h2>
      <div className="muted small">
        <code>{template.id}</code> · {template.builtin ? 'starter library' : `by ${template.created_by ?? '?'}`} ·{' '}
        {template.parameters.length} parameter{template.parameters.length === 1 ? '' : 's'}
      </div>
      {template.description ? <p>{template.description}</p> : null}
      {problem ? <ErrorLine error={problem} /> : null}
      <div className="buttons">
        <button type="button" onClick={() => go(`#/templates/${encodeURIComponent(template.id)}`)}>
          {identity.permissions.includes('edit') ? 'Use this template' : 'View'}
        </button>
        {!template.builtin && identity.permissions.includes('edit') && (
          <button type="button" className="danger" onClick={() => void remove()}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

export function TemplatesList({ identity }: { identity: Identity }) {
  const list = useLoad(() => api<{ items: TemplateSummary[] }>('GET', '/v1/templates'), []);
  const {
    search,
    setSearch,
    wanted,
    matches: items,
  } = useSearch(list.data?.items, (t) => [t.id, t.name, t.description]);
  return (
    <section>
      <div className="toolbar">
        <h1>Templates</h1>
        <input
          aria-label="search templates"
          placeholder="search by id, name or description"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      {!identity.permissions.includes('edit') && (
        <p className="muted">
          Your roles ({identity.roles.join(', ') || 'none'}) let you read templates, not create definitions from them.
        </p>
      )}
      {list.error ? <ErrorLine error={list.error} /> : null}
      {list.data && items.length === 0 ? <p className="empty">No templates{wanted ? ' match' : ''}.</p> : null}
      <ul className="gallery" data-testid="gallery">
        {items.map((t) => (
          <TemplateCard key={t.id} template={t} identity={identity} />
        ))}
      </ul>
    </section>
  );
}

export function TemplatePage({ id, identity }: { id: string; identity: Identity }) {
  const template = useLoad(() => api<TemplateView>('GET', route('/v1/templates', id)), [id]);
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [definitionId, setDefinitionId] = useState(id);
  const [outcome, setOutcome] = useState<unknown>(null);
  const [problems, setProblems] = useState<Array<{ path: string; message: string }>>([]);
  const [busy, setBusy] = useState(false);
  if (template.error) return <ErrorLine error={template.error} />;
  if (!template.data) return <p>loading the template…</p>;
  const t = template.data;
  const canEdit = identity.permissions.includes('edit');
  const missing = t.parameters.filter((p) => mustBeGiven(p) && values[p.name] === undefined).map((p) => p.name);
  // The gateway's problems pinned at the parameter they name (`/parameters/<name>`), as in the Designer.
  const extras: FieldExtras = (pointer, value, { exact }) => (
    <FieldTools pointer={`/parameters${pointer}`} value={value} problems={problems} exact={exact} />
  );

  const instantiate = async (submit: boolean) => {
    setBusy(true);
    setOutcome(null);
    setProblems([]);
    try {
      const body = { id: definitionId.trim(), parameters: values, ...(submit ? { submit: true } : {}) };
      const path = route('/v1/templates', t.id, 'instantiate');
      if (!submit) {
        const definition = await api<Definition>('POST', path, body);
        const masked = (definition.variables ?? []).filter((v) => v.secret && v.default === MASK).map((v) => v.name);
        if (masked.length > 0) {
          // The API never shows a secret's default: the Designer would save "***" in its place.
          setOutcome(
            `The secret default of ${masked.join(', ')} is never shown by the API, so the designer cannot carry it: use "Create definition" to store the definition with it.`,
          );
          return;
        }
        openInDesigner(definition);
        return;
      }
      const stored = await api<{ id: string; version: string; created: boolean; approval?: string }>(
        'POST',
        path,
        body,
      );
      setOutcome(
        stored.approval === 'pending'
          ? `Definition ${stored.id} version ${stored.version} stored: waiting for approval (four-eyes).`
          : stored.created
            ? `Definition ${stored.id} version ${stored.version} stored.`
            : `Unchanged: definition ${stored.id} version ${stored.version} is identical.`,
      );
      go(`#/definitions/${encodeURIComponent(stored.id)}`);
    } catch (err) {
      if (err instanceof ApiError) setProblems(err.details);
      setOutcome(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="template-page">
      <div className="toolbar">
        <h1>{t.name}</h1>
        <span className="muted">
          template <code>{t.id}</code>
          {t.builtin ? ' · starter library' : ''}
        </span>
        <a href="#/templates">all templates</a>
      </div>
      {t.description ? <p className="description">{t.description}</p> : null}
      <form className="parameters-form" aria-label="template parameters" onSubmit={(e) => e.preventDefault()}>
        <h2>Parameters</h2>
        {t.parameters.length === 0 ? <p className="muted">This template takes no parameters.</p> : null}
        <FieldExtrasContext.Provider value={extras}>
          <SchemaFields
            idPrefix="param"
            schema={parametersSchema(t.parameters)}
            value={values}
            onChange={(v) => {
              setValues(v);
              setProblems([]);
            }}
          />
        </FieldExtrasContext.Provider>
        <h2>New definition</h2>
        <div className="field">
          <label htmlFor="template-definition-id">definition id *</label>
          <input id="template-definition-id" value={definitionId} onChange={(e) => setDefinitionId(e.target.value)} />
          <FieldTools pointer="/id" value={definitionId} problems={problems} exact />
        </div>
        {missing.length > 0 && (
          <p className="field-problem" data-testid="missing-parameters">
            To fill in: {missing.join(', ')}
          </p>
        )}
        {typeof outcome === 'string' ? (
          <p className="ok" data-testid="template-message">
            {outcome}
          </p>
        ) : outcome ? (
          <ErrorLine error={outcome} />
        ) : null}
        {canEdit ? (
          <div className="buttons">
            <button
              type="button"
              disabled={busy || missing.length > 0 || definitionId.trim() === ''}
              onClick={() => void instantiate(false)}
            >
              Open in designer
            </button>
            <button
              type="button"
              disabled={busy || missing.length > 0 || definitionId.trim() === ''}
              onClick={() => void instantiate(true)}
            >
              Create definition
            </button>
          </div>
        ) : (
          <p className="muted">
            Your roles ({identity.roles.join(', ') || 'none'}) do not allow creating definitions from templates.
          </p>
        )}
      </form>
    </section>
  );
}
