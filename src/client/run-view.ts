/** Runs as text for people: the state `weft status` shows, and a run's error on one line. */
import type { RunError } from '../../interpreter/run-state.js';
import type { RunState } from './gateway-client.js';
import { columns, inline, pretty } from './output.js';

const VALUE_WIDTH = 100;

/** `HttpError at node fetch: HTTP 503` */
export function describeError(error: Partial<RunError> | undefined): string {
  if (!error) return 'no error given';
  const where = error.node ? ` at node ${error.node}` : '';
  return `${error.type ?? 'Error'}${where}: ${error.message ?? ''}`;
}

const short = (value: unknown) => {
  const text = inline(value);
  return text.length > VALUE_WIDTH ? `${text.slice(0, VALUE_WIDTH - 1)}…` : text;
};

/** The run state as `weft status` prints it. */
export function renderRunState(state: RunState): string[] {
  const status = state.pause_reason && state.status === 'paused' ? `paused (${state.pause_reason})` : state.status;
  const head: string[][] = [
    ['run', state.workflow_id],
    ['definition', `${state.definition_id} version ${state.definition_version}`],
    ['status', status],
    ['current node', state.current_node ?? '-'],
  ];
  if (state.cost && state.cost.usd > 0) {
    const { usd, tokens } = state.cost;
    head.push(['cost', `$${usd} (${tokens.input} input + ${tokens.output} output tokens)`]);
  }
  if (state.retried_by && state.retried_by.length > 0) head.push(['retried by', state.retried_by.join(', ')]);
  if (state.rerun_by && state.rerun_by.length > 0) head.push(['rerun by', state.rerun_by.join(', ')]);
  if (state.retry_of !== undefined) head.push(['retry of', state.retry_of]);
  if (state.rerun_of !== undefined) head.push(['rerun of', state.rerun_of]);
  if (state.error) head.push(['error', describeError(state.error)]);
  const lines = columns(head);

  const nodes = Object.entries(state.nodes ?? {});
  lines.push('', 'nodes');
  lines.push(
    ...columns(
      nodes.map(([id, node]) => [
        `  ${id}`,
        node.status,
        `attempts ${node.attempts}`,
        node.error ? `${node.error.type}: ${node.error.message}` : '',
      ]),
    ),
  );
  const variables = Object.entries(state.variables ?? {});
  if (variables.length > 0) {
    lines.push('', 'variables');
    lines.push(...columns(variables.map(([name, value]) => [`  ${name}`, short(value)])));
  }
  if (state.result !== undefined) lines.push('', 'result', pretty(state.result));
  return lines;
}
