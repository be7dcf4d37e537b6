/**
 * Runs the compiled `weft` command line as a child process against a gateway, for tests that
 * assert what a user sees: stdout, stderr and the exit code.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/weft.js', import.meta.url));

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `weft <args>` with `WEFT_URL` set to `url`. */
export function runCli(url: string, args: string[], stdin = ''): Promise<CliOutcome> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, WEFT_URL: url } });
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
