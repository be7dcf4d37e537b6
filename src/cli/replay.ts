/**
 * `npm run replay -- <file|dir>…` replays exported histories against the current code;
 * `npm run replay -- --definition <id> [--limit N]` replays recent closed runs of a definition
 * from the Temporal server at TEMPORAL_ADDRESS; `npm run replay -- --export <run id> <file>`
 * writes a run's history to a file (to add it to test/histories/). Exits non-zero when any
 * history fails to replay. With `--against-version V`, `--definition <id>` is the what-if replay
 * of a definition's recorded runs on version V instead: `weft replay` (src/client/what-if-command.ts)
 * through the gateway at WEFT_URL.
 */
import { writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { codecFromKeys, encryptingDataConverter } from '../codec/data-converter.js';
import { loadConfig } from '../config.js';
import { replayDefinition, replayFiles, type ReplayOutcome } from '../replay/replay.js';
import { main } from '../client/main.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

function report(outcomes: ReplayOutcome[]): never {
  for (const o of outcomes)
    process.stdout.write(o.ok ? `ok    ${o.name}\n` : `FAIL  ${o.name}\n      ${o.error ?? ''}\n`);
  const failed = outcomes.filter((o) => !o.ok).length;
  process.stdout.write(`${outcomes.length - failed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || outcomes.length === 0 ? 1 : 0);
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const connection = await Connection.connect({ address: config.temporalAddress, tls: config.temporalTls });
  try {
    // Exports keep the raw (encrypted) payloads: the client decodes nothing of a history.
    return await fn(
      new Client({ connection, namespace: config.namespace, ...(dataConverter ? { dataConverter } : {}) }),
    );
  } finally {
    await connection.close();
  }
}

// Histories of encrypted runs (WEFT_CODEC_KEYS) replay only once decrypted; exports stay encrypted.
const codec = codecFromKeys(loadConfig().codecKeys);
const dataConverter = codec ? encryptingDataConverter(codec) : undefined;

const definition = option('--definition');
const exportId = option('--export');
if (args.includes('--against-version')) {
  process.exitCode = await main(['replay', ...args], {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  });
} else if (exportId) {
  const file = args[args.indexOf('--export') + 2] ?? `${exportId}.json`;
  const history = await withClient((client) => client.workflow.getHandle(exportId).fetchHistory());
  const { events } = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(file, `${JSON.stringify({ workflowId: exportId, events }, null, 1)}\n`);
  process.stdout.write(`wrote ${file}\n`);
} else if (definition) {
  const limit = Number(option('--limit') ?? 20);
  report(await withClient((client) => replayDefinition(client, definition, limit, dataConverter)));
} else if (args.length > 0) {
  report(await replayFiles(args, undefined, dataConverter));
} else {
  process.stderr.write(
    'usage: npm run replay -- <file|dir>… | --definition <id> [--limit N] | --definition <id> --against-version <v> | --export <run id> [file]\n',
  );
  process.exit(2);
}
