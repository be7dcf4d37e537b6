/**
 * Forms generated from the JSON Schema the gateway serves (`GET /v1/schema/definition.json`):
 * one field per property, its widget chosen by the property's schema (enum → select, boolean →
 * checkbox, number, duration, nested objects as fieldsets, maps as key/value rows, anything else
 * as JSON). Empty fields are removed from the value, so the definition holds only what was set.
 */
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  description?: string;
  examples?: unknown[];
}

/**
 * What a form's owner shows after a field: its problems and tools (the Designer pins the
 * gateway's problems at the field and offers an expression preview). `pointer` is the field's
 * JSON Pointer below the form's `pointer` prefix; `exact` asks for that field alone (a map's
 * entries get their own call).
 */
export type FieldExtras = (pointer: string, value: unknown, options: { exact: boolean }) => ReactNode;

/** Provided by a form's owner; without it fields show nothing extra. */
export const FieldExtrasContext = createContext<FieldExtras | null>(null);

/** A JSON Pointer segment for a key (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The placeholder of an input: the default, else an example. */
function placeholderOf(schema: JsonSchema): string {
  if (schema.default !== undefined) return `default: ${asText(schema.default)}`;
  if (schema.examples?.[0] !== undefined) return `e.g. ${asText(schema.examples[0])}`;
  return '';
}

type Value = Record<string, unknown>;

/** A field's value as the text of its input: strings as they are, anything else as JSON. */
export function asText(value: unknown): string {
  return value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

const LONG_TEXT = new Set([
  'prompt_template',
  'system',
  'expression',
  'items',
  'result',
  'message',
  'filters',
  'until',
]);

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === '' ||
    (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

function setField(value: Value, key: string, next: unknown): Value {
  const copy = { ...value };
  if (isEmpty(next)) delete copy[key];
  else copy[key] = next;
  return copy;
}

function types(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** A JSON value edited as text; keeps the text while it does not parse, and says why. */
function JsonField(props: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const shown = props.value === undefined ? '' : JSON.stringify(props.value, null, 2);
  const [text, setText] = useState(shown);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (problem === null) setText(shown);
  }, [shown]);
  return (
    <>
      <textarea
        id={props.id}
        className="json"
        value={text}
        rows={Math.min(8, Math.max(2, text.split('\n').length))}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') {
            setProblem(null);
            props.onChange(undefined);
            return;
          }
          try {
            const parsed: unknown = JSON.parse(e.target.value);
            setProblem(null);
            props.onChange(parsed);
          } catch (err) {
            setProblem(err instanceof Error ? err.message : String(err));
          }
        }}
      />
      {problem && <div className="field-problem">not JSON yet: {problem}</div>}
    </>
  );
}

/** Key/value rows for a map whose values are strings (`assign`: variable → expression). */
function MapField(props: { id: string; pointer: string; value: unknown; onChange: (v: unknown) => void }) {
  const extras = useContext(FieldExtrasContext);
  const entries = Object.entries((props.value as Record<string, string> | undefined) ?? {});
  const [draftKey, setDraftKey] = useState('');
  const update = (rows: Array<[string, string]>) => props.onChange(Object.fromEntries(rows));
  return (
    <div className="map-field" id={props.id}>
      {entries.map(([k, v], i) => (
        <div className="map-row" key={i}>
          <input
            aria-label={`${props.id} key ${k}`}
            value={k}
            onChange={(e) => update(entries.map((row, j) => (j === i ? [e.target.value, row[1]] : row)))}
          />
          <input
            aria-label={`${props.id} value ${k}`}
            value={v}
            onChange={(e) => update(entries.map((row, j) => (j === i ? [row[0], e.target.value] : row)))}
          />
          <button type="button" onClick={() => update(entries.filter((_row, j) => j !== i))}>
            remove
          </button>
          {extras?.(`${props.pointer}/${escapePointer(k)}`, v, { exact: false })}
        </div>
      ))}
      <div className="map-row">
        <input
          aria-label={`${props.id} new key`}
          placeholder="new key"
          value={draftKey}
          onChange={(e) => setDraftKey(e.target.value)}
        />
        <button
          type="button"
          disabled={draftKey.trim() === '' || entries.some(([k]) => k === draftKey.trim())}
          onClick={() => {
            update([...entries, [draftKey.trim(), '']]);
            setDraftKey('');
          }}
        >
          add
        </button>
      </div>
    </div>
  );
}

function Field(props: {
  id: string;
  pointer: string;
  name: string;
  schema: JsonSchema;
  required: boolean;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  const { id, name, schema, value, onChange } = props;
  const extras = useContext(FieldExtrasContext);
  const label = (
    <label htmlFor={id}>
      {name}
      {props.required ? ' *' : ''}
    </label>
  );
  // After the input: the schema's description, then what the form's owner adds (problems, preview).
  const after = (exact = false) => (
    <>
      {schema.description ? <div className="hint">{schema.description}</div> : null}
      {extras?.(props.pointer, value, { exact })}
    </>
  );
  const options = schema.enum ?? [];
  const t = types(schema);
  if (schema.enum) {
    return (
      <div className="field">
        {label}
        <select
          id={id}
          value={value === undefined ? '' : String(options.findIndex((o) => o === value))}
          // The option's own value (a number stays a number, `true` a boolean), not its text.
          onChange={(e) => onChange(e.target.value === '' ? undefined : options[Number(e.target.value)])}
        >
          <option value="">{schema.default !== undefined ? `(default: ${asText(schema.default)})` : '—'}</option>
          {options.map((option, i) => (
            <option key={i} value={String(i)}>
              {String(option)}
            </option>
          ))}
        </select>
        {after()}
      </div>
    );
  }
  if (t.length === 1 && t[0] === 'boolean') {
    return (
      <div className="field checkbox">
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.target.checked ? true : undefined)}
        />
        {label}
        {after()}
      </div>
    );
  }
  if (t.includes('number') && t.includes('string')) {
    // A duration: milliseconds or "30s", "5m", …
    return (
      <div className="field">
        {label}
        <input
          id={id}
          placeholder={placeholderOf(schema) || 'e.g. "30s", "5m" or milliseconds'}
          value={asText(value)}
          onChange={(e) => onChange(/^[0-9]+$/.test(e.target.value) ? Number(e.target.value) : e.target.value)}
        />
        {after()}
      </div>
    );
  }
  if (t.length === 1 && (t[0] === 'number' || t[0] === 'integer')) {
    return (
      <div className="field">
        {label}
        <input
          id={id}
          type="number"
          placeholder={placeholderOf(schema)}
          value={asText(value)}
          onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
        />
        {after()}
      </div>
    );
  }
  if (t.length === 1 && t[0] === 'string') {
    return (
      <div className="field">
        {label}
        {LONG_TEXT.has(name) ? (
          <textarea
            id={id}
            rows={2}
            placeholder={placeholderOf(schema)}
            value={typeof value === 'string' ? value : ''}
            onChange={(e) => onChange(e.target.value)}
          />
        ) : (
          <input
            id={id}
            placeholder={placeholderOf(schema)}
            value={typeof value === 'string' ? value : ''}
            onChange={(e) => onChange(e.target.value)}
          />
        )}
        {after()}
      </div>
    );
  }
  if (t.length === 1 && t[0] === 'object' && schema.properties) {
    return (
      <fieldset className="nested">
        <legend>
          {name}
          {props.required ? ' *' : ''}
        </legend>
        <SchemaFields
          idPrefix={id}
          pointer={props.pointer}
          schema={schema}
          value={(value as Value | undefined) ?? {}}
          onChange={(v) => onChange(v)}
        />
      </fieldset>
    );
  }
  if (
    t.length === 1 &&
    t[0] === 'object' &&
    typeof schema.additionalProperties === 'object' &&
    types(schema.additionalProperties).includes('string')
  ) {
    return (
      <div className="field">
        {label}
        <MapField id={id} pointer={props.pointer} value={value} onChange={onChange} />
        {after(true)}
      </div>
    );
  }
  return (
    <div className="field">
      {label}
      <JsonField id={id} value={value} onChange={onChange} />
      {after()}
    </div>
  );
}

/** The fields of an object schema; `skip` names properties edited elsewhere (id, type). */
export function SchemaFields(props: {
  idPrefix: string;
  /** The JSON Pointer of `value` (fields get `<pointer>/<key>`); '' by default. */
  pointer?: string;
  schema: JsonSchema;
  value: Value;
  onChange: (v: Value) => void;
  skip?: string[];
}) {
  const required = new Set(props.schema.required ?? []);
  const entries = Object.entries(props.schema.properties ?? {}).filter(
    ([k, s]) => !props.skip?.includes(k) && s.const === undefined,
  );
  // Required fields first, so what must be filled in is at the top.
  entries.sort(([a], [b]) => Number(required.has(b)) - Number(required.has(a)));
  return (
    <>
      {entries.map(([key, schema]) => (
        <Field
          key={key}
          id={`${props.idPrefix}.${key}`}
          pointer={`${props.pointer ?? ''}/${escapePointer(key)}`}
          name={key}
          schema={schema}
          required={required.has(key)}
          value={props.value[key]}
          onChange={(v) => props.onChange(setField(props.value, key, v))}
        />
      ))}
    </>
  );
}

/** The schema of one node type out of the definition schema (`nodes.items.oneOf`). */
export function nodeSchema(definitionSchema: JsonSchema | null, type: string): JsonSchema | undefined {
  return definitionSchema?.properties?.nodes?.items?.oneOf?.find((s) => s.properties?.type?.const === type);
}

export function nodeTypesOf(definitionSchema: JsonSchema | null): string[] {
  return (definitionSchema?.properties?.nodes?.items?.oneOf ?? [])
    .map((s) => s.properties?.type?.const)
    .filter((t): t is string => typeof t === 'string');
}

/** A new node of `type`: its required fields, empty (validation then says what to fill in). */
export function skeleton(schema: JsonSchema | undefined, id: string, type: string): Record<string, unknown> {
  const node: Record<string, unknown> = { id, type };
  for (const key of schema?.required ?? []) {
    if (key === 'id' || key === 'type') continue;
    const t = types(schema?.properties?.[key] ?? {});
    node[key] = t.includes('object') ? {} : t.includes('array') ? [] : '';
  }
  return node;
}
