/** The harness's table (Markdown, so it can go into RELIABILITY.md as printed) and its verdict. */
import type { PhaseReport } from './harness.js';

const COLUMNS: Array<[string, (r: PhaseReport) => string | number]> = [
  ['fault', (r) => r.fault],
  ['faults injected', (r) => r.faultsInjected],
  ['accepted', (r) => r.accepted],
  ['completed', (r) => r.completed],
  ['wrong', (r) => r.wrong],
  ['lost', (r) => r.lost],
  ['not accepted', (r) => r.notAccepted],
  ['events accepted', (r) => r.eventsAccepted],
  ['events lost', (r) => r.eventsLost],
  ['duplicate calls', (r) => r.duplicateCalls],
  ['resent: no answer / 429 / 5xx', (r) => `${r.resent.unanswered} / ${r.resent.limited} / ${r.resent.serverErrors}`],
  ['crashed by themselves', (r) => r.crashed.length],
  ['seconds', (r) => r.seconds],
];

export function reportTable(reports: PhaseReport[]): string {
  const rows = [COLUMNS.map(([name]) => name), ...reports.map((r) => COLUMNS.map(([, cell]) => String(cell(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(rows[0] as string[]), rule, ...rows.slice(1).map(line)].join('\n');
}

/** What makes the harness fail: a wrong result, a lost run or event, a phase that accepted nothing. */
export function failures(reports: PhaseReport[]): string[] {
  return reports.flatMap((r) => [
    ...(r.wrong > 0 ? [`${r.fault}: ${r.wrong} wrong results`] : []),
    ...(r.lost > 0 ? [`${r.fault}: ${r.lost} accepted runs lost`] : []),
    ...(r.eventsLost > 0 ? [`${r.fault}: ${r.eventsLost} accepted events lost`] : []),
    ...(r.accepted === 0 ? [`${r.fault}: no start was accepted`] : []),
  ]);
}
