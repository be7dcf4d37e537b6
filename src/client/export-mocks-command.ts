/**
 * `weft runs export-mocks <run-id>`: the node outcomes of a real run as a mocks table for
 * definition tests (`POST /v1/definitions/test`, `weft test`): completed outputs as `output`,
 * failures as `error`, events as `event`, decisions as `decision`, timeouts as `timeout`. It
 * reads the run state (`GET /v1/runs/{id}`) and the run's definition version (for the node
 * types), so what the state masks (secret-derived values) is masked here too.
 */
import { recordedMocks } from '../../interpreter/recorded-mocks.js';
import { MASK } from '../../interpreter/run-state.js';
import { arg, type Command } from './command.js';
import { pretty } from './output.js';

export const exportMocksCommand: Command = {
  name: 'runs export-mocks',
  args: '<run-id>',
  summary: "a run's node outcomes as a mocks table for definition tests",
  details: [
    'Prints { "<node>": { "output" | "error" | "event" | "decision" | "timeout" }, … } (README, "Definition tests"),',
    'ready for the "mocks" of POST /v1/definitions/test or a case of a test file. The run state keeps each',
    "node's latest outcome only: a node that ran several times (a loop, a retry) gets its last one.",
    'Values the run state masks (secret-derived) stay masked; a note on stderr names those nodes.',
  ].join('\n'),
  options: {},
  arity: [1, 1],
  async run(context) {
    const state = (await context.client.state(arg(context, 0))).body;
    const definition = (await context.client.definitionVersion(state.definition_id, state.definition_version)).body;
    const { mocks, masked } = recordedMocks(definition, state.nodes);
    context.out.line(context.json ? JSON.stringify(mocks) : pretty(mocks));
    if (masked.length > 0)
      context.out.note(
        `weft: the run state masks secret-derived values of ${masked.join(', ')}: replace "${MASK}" before testing`,
      );
    return undefined;
  },
};
