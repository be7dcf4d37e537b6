#!/usr/bin/env node
/**
 * `weft`: the command line of the gateway (`npm run cli -- <command>`, or the package bin).
 * Everything is in `src/client/`; `weft --help` lists the commands and the exit codes.
 */
import { main } from '../client/main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
