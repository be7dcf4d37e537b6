/**
 * What can go wrong in a `weft` command, and the exit code each outcome has. Scripts rely on
 * these codes, so they are fixed and listed in `weft --help`.
 */

/** The exit codes of `weft`. */
export const ExitCode = {
  /** The command did what it was asked. */
  ok: 0,
  /** `run --wait`: the run finished `failed` or `cancelled`; `test`: a case failed or was refused. */
  runFailed: 1,
  /** Unknown command or option, missing argument, unreadable file, invalid JSON argument. */
  usage: 2,
  /** The gateway refused the request (a 4xx answer). */
  refused: 3,
  /** The gateway (or the Temporal server behind it) is unreachable, or answered 5xx. */
  unavailable: 4,
  /** A bug in weft itself. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line is wrong; the message says how, for the person who typed it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One problem of a refused request, as the gateway names it (a JSON Pointer and a message). */
export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * The gateway answered with an error, or could not be reached at all (`status` 0). 4xx answers
 * are refusals of this request; everything else means "try again later".
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    /** The HTTP status, or 0 when no answer came. */
    readonly status: number,
    /** The gateway's error `code` (`validation_failed`, `not_found`, …), or one of ours. */
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** The parsed answer, when the gateway sent JSON (printed as is under `--json`). */
    readonly body?: unknown,
  ) {
    super(message);
  }

  get exitCode(): ExitCode {
    return this.status >= 400 && this.status < 500 ? ExitCode.refused : ExitCode.unavailable;
  }
}
