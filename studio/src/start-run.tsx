/** Starting a run: an input form generated from the definition's declared variables. */
import { useState } from 'react';
import { api, route, type Definition, type Variable } from './api.js';
import { asText } from './schema-form.js';
import { ErrorLine, go } from './ui.js';

/** The typed value of a variable's field, or why it is not one. */
export function typedValue(variable: Variable, text: string): { value?: unknown; problem?: string } {
  if (variable.type === 'string') return { value: text };
  if (variable.type === 'number') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? { value: n } : { problem: 'expected a number' };
  }
  if (variable.type === 'boolean') return { value: text === 'true' };
  try {
    const parsed: unknown = JSON.parse(text);
    if (variable.type === 'object' && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)))
      return { problem: 'expected a JSON object' };
    if (variable.type === 'array' && !Array.isArray(parsed)) return { problem: 'expected a JSON array' };
    return { value: parsed };
  } catch {
    return { problem: 'expected JSON' };
  }
}

/** Inputs for `variables`; returns the typed values of the fields that were filled in. */
export function VariableInputs(props: {
  variables: Variable[];
  texts: Record<string, string>;
  onChange: (texts: Record<string, string>) => void;
  prefix: string;
}) {
  return (
    <>
      {props.variables.map((v) => {
        const id = `${props.prefix}-${v.name}`;
        const text = props.texts[v.name] ?? '';
        const problem = text === '' ? undefined : typedValue(v, text).problem;
        return (
          <div className="field" key={v.name}>
            <label htmlFor={id}>
              {v.name} ({v.type}){v.required && v.default === undefined ? ' *' : ''}
            </label>
            {v.type === 'boolean' ? (
              <select
                id={id}
                value={text}
                onChange={(e) => props.onChange({ ...props.texts, [v.name]: e.target.value })}
              >
                <option value="">{v.default !== undefined ? `(default: ${asText(v.default)})` : '—'}</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                id={id}
                type={v.secret ? 'password' : 'text'}
                autoComplete="off"
                placeholder={v.default !== undefined && !v.secret ? `default: ${JSON.stringify(v.default)}` : ''}
                value={text}
                onChange={(e) => props.onChange({ ...props.texts, [v.name]: e.target.value })}
              />
            )}
            {problem && <div className="field-problem">{problem}</div>}
          </div>
        );
      })}
    </>
  );
}

export function collectValues(
  variables: Variable[],
  texts: Record<string, string>,
): { values: Record<string, unknown>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const v of variables) {
    const text = texts[v.name] ?? '';
    if (text === '') {
      if (v.required && v.default === undefined) problems.push(`${v.name} is required`);
      continue;
    }
    const typed = typedValue(v, text);
    if (typed.problem) problems.push(`${v.name}: ${typed.problem}`);
    else values[v.name] = typed.value;
  }
  return { values, problems };
}

export function StartRun({ definition, onClose }: { definition: Definition; onClose: () => void }) {
  const variables = definition.variables ?? [];
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const { values, problems } = collectValues(variables, texts);
  const start = async () => {
    setBusy(true);
    try {
      const started = await api<{ run_id: string }>('POST', route('/v1/definitions', definition.id, 'runs'), {
        input: values,
        ...(definition.version ? { version: definition.version } : {}),
      });
      go(`#/runs/${encodeURIComponent(started.run_id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="dialog" role="dialog" aria-label="start a run">
      <h2>
        Start a run of {definition.id}
        {definition.version ? ` (version ${definition.version})` : ''}
      </h2>
      {variables.length === 0 && (
        <p className="muted">This definition declares no variables: the run starts with no input.</p>
      )}
      <VariableInputs variables={variables} texts={texts} onChange={setTexts} prefix="input" />
      {problems.length > 0 && (
        <ul className="field-problem">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {error ? <ErrorLine error={error} /> : null}
      <div className="buttons">
        <button type="button" disabled={busy || problems.length > 0} onClick={() => void start()}>
          Start
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
