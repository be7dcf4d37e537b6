/** `weft runs lineage`: for each variable of a run, who wrote it last, from what, when, and how often. */
import type { LineageEntry } from '../../interpreter/run-state.js';
import { arg, type Command } from './command.js';
import { columns } from './output.js';

export const lineageCommand: Command = {
  name: 'runs lineage',
  args: '<run-id>',
  summary: 'per variable of a run: its last writer, inputs, time and number of writes',
  details: [
    'WRITER is the node (its type, and its visit number in loops), or input / default (the run start),',
    'or operator (a variable patch or a skip). INPUTS are the references the value was computed from',
    '(vars.x, input.x, nodes.<id>.output, event:<type>). --json has the last 20 writes of each variable.',
  ].join('\n'),
  options: {},
  arity: [1, 1],
  async run(context) {
    const runId = arg(context, 0);
    context.out.answer(await context.client.lineage(runId), ({ variables }) => {
      const names = Object.keys(variables).sort();
      if (names.length === 0) return `run ${runId} has no variables`;
      const rows = names.map((name) => {
        const lineage = variables[name];
        const last = lineage?.entries.at(-1);
        const writes = String(lineage?.writes ?? 0);
        if (!last) return [name, '(no writes recorded)', '', '', writes];
        return [name, writer(last), last.inputs.length > 0 ? last.inputs.join(', ') : '-', last.at, writes];
      });
      return columns([['VARIABLE', 'WRITER', 'INPUTS', 'AT', 'WRITES'], ...rows]);
    });
    return undefined;
  },
};

/** `sum (set)`, `loop (set) #3`, `review (approval) by key:ana`, `operator by key:root`, `input`. */
function writer(entry: LineageEntry): string {
  const by = entry.by === undefined ? '' : ` by ${entry.by}`;
  // An operator's skip that supplied a node's output names the node too.
  if (entry.source === 'operator') return `operator${by}${entry.node === undefined ? '' : ` (node ${entry.node})`}`;
  if (entry.node === undefined) return entry.source;
  const type = entry.node_type === undefined ? '' : ` (${entry.node_type})`;
  const visit = entry.iteration !== undefined && entry.iteration > 1 ? ` #${entry.iteration}` : '';
  return `${entry.node}${type}${visit}${by}`;
}
