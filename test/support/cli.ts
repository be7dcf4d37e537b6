/**
 * Runs a compiled script (the `weft` command line, the keys bootstrap) as a child process, for
 * tests that assert what a user sees: stdout, stderr and the exit code.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled `weft` command line. */
export const WEFT_CLI = fileURLToPath(new URL('../../src/cli/weft.js', import.meta.url));

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `args`, the test's environment plus `env` (never an API key inherited from
 * the shell), and `stdin`; resolves once it exits.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  stdin = '',
): Promise<CliOutcome> {
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

/** `weft <args>` against the gateway at `url`. */
export function runCli(url: string, args: string[], stdin = ''): Promise<CliOutcome> {
  return runScript(WEFT_CLI, args, { WEFT_URL: url }, stdin);
}
