/**
 * Expression fields in the Designer: the gateway's problems shown at the field they point at
 * (syntax errors among them, from the live validation), and a preview that evaluates the
 * expression or `{{ }}` template against sample data with `POST /v1/expressions/evaluate` (the
 * engine's own evaluator and limits) and shows the value or the API's problem.
 */
import { createContext, useContext, useState } from 'react';
import { api, type Definition, type Problem } from './api.js';
import { ErrorLine } from './ui.js';
import { isExpressionPointer, isTemplatePointer } from '../../interpreter/expression-pointers.js';

export type ExpressionKind = 'expression' | 'template';

/** What a string at `pointer` is read as; undefined for plain data. */
export function expressionKind(pointer: string, value: unknown): ExpressionKind | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (isExpressionPointer(pointer)) return 'expression';
  if (value.includes('{{') && isTemplatePointer(pointer)) return 'template';
  return undefined;
}

/** The sample data previews evaluate against, shared by every field of one Designer. */
export interface PreviewSample {
  text: string;
  setText: (text: string) => void;
}

export const PreviewSampleContext = createContext<PreviewSample | null>(null);

/** A first sample from the definition: each variable with a default as `vars`, an empty `input`. */
export function initialSample(definition: Definition): string {
  const vars: Record<string, unknown> = {};
  for (const v of definition.variables ?? []) if (v.default !== undefined && !v.secret) vars[v.name] = v.default;
  return JSON.stringify({ vars, input: {} }, null, 2);
}

/** The problems at `pointer` (or, unless `exact`, below it), as the gateway reported them. */
export function problemsAt(problems: Problem[], pointer: string, exact: boolean): Problem[] {
  return problems.filter((p) => p.path === pointer || (!exact && p.path.startsWith(`${pointer}/`)));
}

/** Shown after a field of the Designer: its problems, and for an expression or template a preview. */
export function FieldTools(props: { pointer: string; value: unknown; problems: Problem[]; exact: boolean }) {
  const here = problemsAt(props.problems, props.pointer, props.exact);
  const kind = expressionKind(props.pointer, props.value);
  return (
    <>
      {here.map((p, i) => (
        <div key={i} className="field-problem inline" data-testid="field-problem" data-pointer={p.path}>
          {p.message}
        </div>
      ))}
      {kind && typeof props.value === 'string' ? (
        <Preview key={`${props.pointer}`} pointer={props.pointer} kind={kind} source={props.value} />
      ) : null}
    </>
  );
}

type Outcome = { value: unknown; defined: boolean } | { error: unknown };

function Preview({ pointer, kind, source }: { pointer: string; kind: ExpressionKind; source: string }) {
  const sample = useContext(PreviewSampleContext);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [shownFor, setShownFor] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  let context: unknown;
  let sampleProblem: string | null = null;
  try {
    context = JSON.parse(sample?.text ?? '{}');
  } catch (err) {
    sampleProblem = err instanceof Error ? err.message : String(err);
  }
  const run = async () => {
    setBusy(true);
    try {
      const answer = await api<{ value: unknown; defined: boolean }>('POST', '/v1/expressions/evaluate', {
        [kind]: source,
        context,
      });
      setOutcome(answer);
    } catch (err) {
      setOutcome({ error: err });
    } finally {
      setShownFor(source);
      setBusy(false);
    }
  };
  return (
    <div className="preview" data-testid="preview" data-pointer={pointer}>
      <button
        type="button"
        className="small"
        disabled={busy || sampleProblem !== null}
        onClick={() => void run()}
        title={`evaluate this ${kind} against the sample data`}
      >
        Preview
      </button>
      {outcome && (
        <div className={shownFor === source ? '' : 'stale'}>
          {'error' in outcome ? (
            <ErrorLine error={outcome.error} />
          ) : (
            <output data-testid="preview-value">
              {outcome.defined ? JSON.stringify(outcome.value) : 'no value (undefined: nothing matched)'}
            </output>
          )}
          {shownFor !== source && <span className="muted small"> (for an earlier text: preview again)</span>}
        </div>
      )}
      {sampleProblem && <span className="field-problem"> the sample data is not JSON: {sampleProblem}</span>}
    </div>
  );
}

/** The one editor of the sample data, in the Designer's inspector. */
export function SampleEditor() {
  const sample = useContext(PreviewSampleContext);
  if (!sample) return null;
  return (
    <details className="sample" data-testid="sample-data">
      <summary>Sample data for previews</summary>
      <textarea
        aria-label="sample data"
        className="json"
        rows={6}
        value={sample.text}
        onChange={(e) => sample.setText(e.target.value)}
        spellCheck={false}
      />
      <div className="muted small">
        The evaluation context of a preview: <code>vars</code>, <code>input</code>, <code>nodes</code> (
        <code>{'{ "<id>": { "output": … } }'}</code>), <code>item</code>, <code>index</code>, <code>error</code>.
      </div>
    </details>
  );
}
