/** The Markdown shown as a run's "current details" in the Temporal Web UI. */
import type { Definition } from '../interpreter/definition-schema.js';
import type { RunState } from '../interpreter/run-state.js';

/** Waiting executions named in the details at most; the rest are counted. */
const WAITS_SHOWN = 5;

/**
 * `waits`: the executions (by exec id) waiting for a permit of their node's limiter, with their
 * key and place in line as the limiter last said: the details name each one's node, key and place.
 */
export function describeRun(
  definition: Definition & { version: string },
  state: RunState,
  waits: ReadonlyMap<string, { key: string | null; position?: number }> = new Map(),
): string {
  const active = [...new Set(Object.values(state.inflight).map((e) => e.node))];
  const lines = [
    `**${definition.name ?? definition.id}** · \`${definition.id}\` v${definition.version}`,
    '',
    `status: **${state.status}**${state.pause_reason ? ` (${state.pause_reason})` : ''}`,
    `active nodes: ${active.length > 0 ? active.map((n) => `\`${n}\``).join(', ') : 'none'}`,
  ];
  const waiting = [...waits].flatMap(([exec, wait]) => {
    const node = state.inflight[exec]?.node;
    return node === undefined ? [] : [{ node, ...wait }];
  });
  for (const wait of waiting.slice(0, WAITS_SHOWN))
    lines.push(
      `waiting for a permit: \`${wait.node}\`${wait.key === null ? '' : ` · key \`${wait.key}\``} · ${
        wait.position === undefined ? 'place in line not known yet' : `place ${wait.position} in line`
      }`,
    );
  if (waiting.length > WAITS_SHOWN) lines.push(`and ${waiting.length - WAITS_SHOWN} more waiting for permits`);
  if (state.cost.usd > 0) lines.push(`cost: ${state.cost.usd.toFixed(6)} USD`);
  return lines.join('\n');
}
