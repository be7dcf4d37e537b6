/**
 * Running the `weft` command line (the built `src/cli/weft.js`), or another compiled script such
 * as the keys bootstrap, in a child process, as a shell does: tests assert stdout, stderr and the
 * exit code.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled `weft` command line. */
export const WEFT_CLI = fileURLToPath(new URL('../../src/cli/weft.js', import.meta.url));

export interface WeftOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `args`, this process's environment plus `env` (never an API key inherited
 * from the shell: a test gives one in `env` when it means to), and `stdin`; resolves once it exits.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  stdin = '',
): Promise<WeftOutcome> {
  const { WEFT_API_KEY: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [script, ...args], { env: { ...inherited, ...env } });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `weft <args>` against the gateway at `url` (`WEFT_URL`), with `env` on top of this process's. */
export function runWeft(
  url: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<WeftOutcome> {
  return runScript(WEFT_CLI, args, { WEFT_URL: url, ...options.env }, options.stdin);
}
