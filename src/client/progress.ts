/**
 * The live progress line of `weft run --wait` on a terminal:
 * `running: fetch ✓ classify … 1/5 nodes`. Rendering is a pure function of the run state;
 * {@link ProgressLine} rewrites one terminal line in place.
 */
import type { NodeStatus } from '../../interpreter/run-state.js';
import type { RunState } from './gateway-client.js';

const MARKS: Record<NodeStatus, string> = {
  pending: '',
  running: '…',
  waiting: '◷',
  completed: '✓',
  skipped: '↷',
  failed: '✗',
  cancelled: '⊘',
};
const SETTLED: ReadonlySet<string> = new Set<NodeStatus>(['completed', 'skipped', 'failed', 'cancelled']);

/**
 * One line: the run status, each node that has started with a mark (✓ completed, … running,
 * ◷ waiting, ↷ skipped, ✗ failed, ⊘ cancelled), and how many of all nodes are settled. Longer than `width`,
 * the earliest nodes give way first.
 */
export function renderProgress(state: Pick<RunState, 'status' | 'nodes' | 'pause_reason'>, width = 80): string {
  const nodes = Object.entries(state.nodes ?? {});
  const settled = nodes.filter(([, node]) => SETTLED.has(node.status)).length;
  const parts = nodes
    .filter(([, node]) => node.status !== 'pending')
    .map(([id, node]) => `${id} ${MARKS[node.status] ?? node.status}`);
  const head = state.status === 'paused' && state.pause_reason ? `paused (${state.pause_reason})` : state.status;
  const tail = `${settled}/${nodes.length} nodes`;
  const line = (shown: string[], cut: boolean) => [`${head}:`, ...(cut ? ['…'] : []), ...shown, tail].join(' ');
  let shown = parts;
  while (shown.length > 0 && line(shown, shown.length < parts.length).length > width - 1) shown = shown.slice(1);
  const text = line(shown, shown.length < parts.length);
  return text.length > width - 1 ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
}

/** One line of a terminal, rewritten in place and cleared at the end. */
export class ProgressLine {
  private shown = false;

  constructor(private readonly stream: NodeJS.WritableStream & { columns?: number }) {}

  /** The terminal's width; a pseudo-terminal without a size reports 0. */
  get width(): number {
    const columns = this.stream.columns ?? 0;
    return columns >= 20 ? columns : 80;
  }

  show(text: string): void {
    this.stream.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
