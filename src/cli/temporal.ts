/**
 * `npm run temporal`: resolves (and if needed builds) the Temporal CLI and prints its path.
 * `npm run temporal -- start` starts a dev server in the foreground with our search attributes.
 */
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { obtainTemporal, resolveTemporalCli } from '../temporal/dev-server.js';

const log = (message: string) => process.stderr.write(`${message}\n`);

if (process.argv[2] === 'start') {
  const config = loadConfig();
  const server = await obtainTemporal({
    port: config.temporalPort,
    httpPort: config.temporalPort + 10,
    uiPort: config.temporalUiPort,
    dbFile: join(config.dataDir, 'temporal.db'),
    log,
  });
  log(`Temporal at ${server.address}, Web UI ${server.uiUrl ?? '(none)'} (${server.source}); Ctrl-C stops it`);
  if (server.listening.length > 0) log(`for workers: WEFT_EGRESS_PROTECT=${server.listening.join(',')}`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  const cli = resolveTemporalCli(log);
  if (!cli) {
    log('no Temporal CLI found and Go is not available; the SDK download will be used');
    process.exit(1);
  }
  process.stdout.write(`${cli.path}\n`);
}
