/**
 * A definition test from the Designer: the draft (as it is, unsaved) runs on the engine with
 * `POST /v1/definitions/test`, its input and mocks typed as JSON here. The panel shows the run's
 * status, path and each node's outcome; the Designer marks the nodes on the path with their
 * status on the graph. Nothing is called, stored or started.
 */
import { useState } from 'react';
import { api, type Definition } from './api.js';
import { ErrorLine } from './ui.js';

/** What `POST /v1/definitions/test` answers (the parts shown here). */
export interface TestRun {
  status: string;
  path: string[];
  nodes: Record<
    string,
    { status: string; attempts: number; output?: unknown; error?: { type: string; message: string } }
  >;
  variables: Record<string, unknown>;
  result: unknown;
  error?: { type: string; message: string; node?: string };
}

/** A first mocks table: every task, ai and subworkflow node with a null output, so the test can run at once. */
function initialMocks(definition: Definition): string {
  const mocks: Record<string, unknown> = {};
  for (const node of definition.nodes)
    if (['task', 'ai', 'subworkflow'].includes(node.type)) mocks[node.id] = { output: null };
  return JSON.stringify(mocks, null, 2);
}

function initialInput(definition: Definition): string {
  const input: Record<string, unknown> = {};
  for (const v of definition.variables ?? []) if (v.required && v.default === undefined) input[v.name] = null;
  return JSON.stringify(input, null, 2);
}

/** The JSON in `text`, or why it is not a JSON object. */
function objectOf(text: string): { value?: Record<string, unknown>; problem?: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { problem: 'expected a JSON object' };
    return { value: value as Record<string, unknown> };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
}

/** One JSON editor of the panel, with why its text is not a JSON object. */
function JsonField(props: { label: string; text: string; onChange: (text: string) => void; problem?: string }) {
  return (
    <label>
      {props.label[0]?.toUpperCase()}
      {props.label.slice(1)}
      <textarea
        aria-label={`test ${props.label}`}
        className="json"
        rows={6}
        value={props.text}
        onChange={(e) => props.onChange(e.target.value)}
        spellCheck={false}
      />
      {props.problem && (
        <span className="field-problem">
          {props.label}: {props.problem}
        </span>
      )}
    </label>
  );
}

function outcomeOf(node: TestRun['nodes'][string]): string {
  if (node.error) return `${node.error.type}: ${node.error.message}`;
  return node.output === undefined ? '' : JSON.stringify(node.output);
}

export function TestPanel(props: {
  definition: Definition;
  onResult: (run: TestRun | null) => void;
  onClose: () => void;
}) {
  const [inputText, setInputText] = useState(() => initialInput(props.definition));
  const [mocksText, setMocksText] = useState(() => initialMocks(props.definition));
  const [run, setRun] = useState<TestRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const input = objectOf(inputText);
  const mocks = objectOf(mocksText);
  const test = async () => {
    setBusy(true);
    setError(null);
    try {
      const answer = await api<TestRun>('POST', '/v1/definitions/test', {
        definition: props.definition,
        input: input.value,
        mocks: mocks.value,
      });
      setRun(answer);
      props.onResult(answer);
    } catch (err) {
      setRun(null);
      props.onResult(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="dialog test-panel" role="dialog" aria-label="test the definition" data-testid="test-panel">
      <h2>Test {props.definition.id || 'the draft'} with mocked outputs</h2>
      <p className="muted small">
        The draft runs on the engine; every task, AI call, child run, event and approval is answered from the mocks
        (README, Definition tests). Nothing is called or stored.
      </p>
      <div className="test-editors">
        <JsonField label="input" text={inputText} onChange={setInputText} problem={input.problem} />
        <JsonField label="mocks" text={mocksText} onChange={setMocksText} problem={mocks.problem} />
      </div>
      <div className="buttons">
        <button
          type="button"
          disabled={busy || input.problem !== undefined || mocks.problem !== undefined}
          onClick={() => void test()}
        >
          {busy ? 'Testing…' : 'Run test'}
        </button>
        <button
          type="button"
          onClick={() => {
            props.onResult(null);
            props.onClose();
          }}
        >
          Close
        </button>
      </div>
      {error ? <ErrorLine error={error} /> : null}
      {run && (
        <div className="test-result" data-testid="test-result">
          <p>
            Status: <strong data-testid="test-status">{run.status}</strong>
            {run.error && (
              <span className="field-problem" data-testid="test-error">
                {' '}
                {run.error.type}
                {run.error.node ? ` at ${run.error.node}` : ''}: {run.error.message}
              </span>
            )}
          </p>
          <p>
            Path: <code data-testid="test-path">{run.path.join(' → ') || '(no node ran)'}</code>
          </p>
          <table className="test-nodes">
            <thead>
              <tr>
                <th>node</th>
                <th>status</th>
                <th>attempts</th>
                <th>output / error</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(run.nodes).map(([id, node]) => (
                <tr key={id} data-testid={`test-node-${id}`} data-status={node.status}>
                  <td>{id}</td>
                  <td>{node.status}</td>
                  <td>{node.attempts}</td>
                  <td>
                    <code>{outcomeOf(node)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.status === 'completed' && (
            <p>
              Result: <code data-testid="test-run-result">{JSON.stringify(run.result)}</code>
            </p>
          )}
        </div>
      )}
    </div>
  );
}
