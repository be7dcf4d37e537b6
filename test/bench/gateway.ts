/**
 * `npm run bench:gateway`: only the gateway start scenario of `npm run bench`
 * (`gateway-starts.ts`), with the load average before and after.
 */
import { loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { obtainTemporal } from '../../src/temporal/dev-server.js';
import { gatewayStartLines, gatewayStartsBench } from './gateway-starts.js';

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const temporal = await obtainTemporal({ headless: true, log });
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
const before = load();
const rows = await gatewayStartsBench(temporal.address, client, log);
process.stdout.write(
  `${gatewayStartLines(rows).join('\n')}\n\nLoad average 1/5/15 min: ${before} before, ${load()} after.\n`,
);
await connection.close();
await temporal.stop();
