/**
 * `npm test`: obtains one Temporal server for the whole suite (TEMPORAL_ADDRESS, or a headless
 * in-memory dev server on a free port), then runs every `*.test.js` under dist/test with Node's
 * test runner. Arguments filter test files by path substring: `npm test -- unit`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { obtainTemporal, protectServer } from '../temporal/dev-server.js';

const testRoot = fileURLToPath(new URL('../../test/', import.meta.url));
const filters = process.argv.slice(2);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

// The build is incremental, so dist/ may still hold the output of a test whose source is gone:
// only compiled tests with a source file run.
const sourceRoot = fileURLToPath(new URL('../../../test/', import.meta.url));
const hasSource = (file: string) => existsSync(join(sourceRoot, relative(testRoot, file).replace(/\.js$/, '.ts')));

const files = testFiles(testRoot)
  .filter(hasSource)
  .filter((file) => filters.length === 0 || filters.some((f) => relative(testRoot, file).includes(f)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no test files match ${filters.join(', ')}\n`);
  process.exit(1);
}

const log = (message: string) => process.stderr.write(`[test] ${message}\n`);
const temporal = await obtainTemporal({ headless: true, log });
log(`Temporal server at ${temporal.address} (${temporal.source})`);

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
    {
      stdio: 'inherit',
      // Activity failures are part of many tests; the SDK's warnings about them are noise here.
      // The dev server's ports are weft's own services: the egress policy of every test worker refuses them.
      env: {
        TEMPORAL_SDK_LOG_LEVEL: 'ERROR',
        ...process.env,
        TEMPORAL_ADDRESS: temporal.address,
        WEFT_EGRESS_PROTECT: protectServer(temporal, process.env.WEFT_EGRESS_PROTECT),
      },
    },
  );
  child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});
await temporal.stop();
process.exit(code);
