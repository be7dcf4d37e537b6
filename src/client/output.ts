/**
 * How `weft` writes: results on stdout, diagnostics on stderr. Under `--json` a command's
 * stdout is exactly one JSON document, the gateway's answer as it came; otherwise text.
 */
import type { CliIo } from './command.js';
import type { GatewayError } from './errors.js';
import type { Answer } from './gateway-client.js';

export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A line of the command's result (stdout). */
  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** A diagnostic (stderr). */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** The gateway's answer as is under `--json`, else the text `human` makes of it. */
  answer<T>(answer: Answer<T>, human: (body: T) => string | string[]): void {
    if (this.json) return this.raw(answer.text);
    const text = human(answer.body);
    for (const line of Array.isArray(text) ? text : [text]) this.line(line);
  }

  /** A JSON text on stdout, as it came. */
  raw(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * A refusal or failure of the gateway: code, message and each problem on stderr; under
   * `--json` the gateway's error document also goes to stdout, for scripts to read.
   */
  gatewayError(error: GatewayError): void {
    if (this.json && error.body !== undefined) this.line(JSON.stringify(error.body));
    this.note(`weft: ${error.status === 0 ? '' : `${error.code}: `}${error.message}`);
    for (const detail of error.details)
      this.note(`  ${detail.path === '' ? '(body)' : detail.path}: ${detail.message}`);
  }
}

/** JSON for people: indented, `undefined` shown as nothing. */
export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? '';
}

/** A value on one line, for tables and summaries: strings as they are, the rest as JSON. */
export function inline(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/** Rows as aligned columns (two spaces apart); the last column is never padded. */
export function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
