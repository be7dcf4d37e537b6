/** The Markdown shown as a run's "current details" in the Temporal Web UI. */
import type { Definition } from '../interpreter/definition-schema.js';
import type { RunState } from '../interpreter/run-state.js';

export function describeRun(definition: Definition & { version: string }, state: RunState): string {
  const active = [...new Set(Object.values(state.inflight).map((e) => e.node))];
  const lines = [
    `**${definition.name ?? definition.id}** · \`${definition.id}\` v${definition.version}`,
    '',
    `status: **${state.status}**${state.pause_reason ? ` (${state.pause_reason})` : ''}`,
    `active nodes: ${active.length > 0 ? active.map((n) => `\`${n}\``).join(', ') : 'none'}`,
  ];
  if (state.cost.usd > 0) lines.push(`cost: ${state.cost.usd.toFixed(6)} USD`);
  return lines.join('\n');
}
