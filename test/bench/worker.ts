/**
 * The benchmark's worker, in its own process so its CPU time can be measured alone. Runs the
 * generic workflow and the hand-written baselines; answers `cpu` messages with its CPU usage.
 */
import { fileURLToPath } from 'node:url';
import { startWorker } from '../../src/worker/create-worker.js';

const taskQueue = process.env.BENCH_TASK_QUEUE ?? 'bench';
const worker = await startWorker({
  address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  namespace: 'default',
  taskQueue,
  workflowsPath: fileURLToPath(new URL('../support/baseline-workflows.js', import.meta.url)),
});
process.on('message', (message) => {
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  if (message === 'stop') void worker.shutdown().then(() => process.exit(0));
});
process.send?.('ready');
await worker.done;
