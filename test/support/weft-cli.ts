/** Running the `weft` command line (the built `src/cli/weft.js`) in a child process, as a shell does. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/weft.js', import.meta.url));

export interface WeftOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `weft <args>` against the gateway at `url` (`WEFT_URL`), with `env` on top of this process's. */
export function runWeft(
  url: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<WeftOutcome> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, WEFT_URL: url, ...options.env } });
  child.stdin.end(options.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
