/**
 * Records the history of an approval with a quorum and a run result from `options.result`
 * (`npm run record-histories` runs it after record-budgets.ts): two distinct approvers decide,
 * one by role and one by id, the first refused attempt (the run's starter, under
 * forbid_self_approval) never reaches the history, and the run's result is the expression's. The
 * suite replays it with the rest. Re-record only on purpose.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { obtainTemporal, protectServer } from '../../src/temporal/dev-server.js';

const log = (m: string) => process.stderr.write(`[record-approvals] ${m}\n`);
const server = await obtainTemporal({ headless: true, log });
process.env.TEMPORAL_ADDRESS = server.address;
process.env.WEFT_EGRESS_PROTECT = protectServer(server, process.env.WEFT_EGRESS_PROTECT);
const { connectClient, startTestWorker, unique } = await import('../support/temporal.js');
const { startRun, waitForState } = await import('../support/runs.js');

const taskQueue = unique('record-approvals');
const worker = await startTestWorker(taskQueue);
const { client, connection } = await connectClient();

const handle = await startRun(
  client,
  taskQueue,
  {
    id: 'approval-quorum-result',
    variables: [{ name: 'amount', type: 'number', default: 0 }],
    options: { result: '{ "amount": vars.amount, "approvers": nodes.sign.output.approvals.by }' },
    nodes: [
      { id: 'price', type: 'set', assign: { amount: 'input.amount * 2' } },
      {
        id: 'sign',
        type: 'approval',
        approvers: ['approver', 'key:cfo'],
        quorum: 2,
        forbid_self_approval: true,
        timeout: '1h',
      },
    ],
    edges: [{ from: 'price', to: 'sign' }],
  },
  { amount: 21 },
  { started_by: 'key:author' },
);
const control = (action: Record<string, unknown>) => handle.executeUpdate('control', { args: [action] });
await waitForState(handle, (s) => s.nodes.sign?.status === 'waiting');
// The update's validator refuses the starter, so nothing of it reaches the history.
const refused = await control({ type: 'approve', node: 'sign', approved: true, by: 'key:author', roles: ['approver'] }).then(
  () => false,
  (err: unknown) => /forbids self-approval/.test(String((err as { cause?: unknown }).cause)),
);
if (!refused) throw new Error('the starter was let approve under forbid_self_approval');
await control({ type: 'approve', node: 'sign', approved: true, by: 'key:ops', roles: ['approver'], comment: 'ok' });
await control({ type: 'approve', node: 'sign', approved: true, by: 'key:cfo', roles: [] });
const result = await handle.result();
log(`result ${JSON.stringify(result)}`);
const { events } = JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: unknown[] };
const out = fileURLToPath(new URL('../../../test/histories/approval-quorum-result.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({ workflowId: handle.workflowId, events }, null, 1)}\n`);
log(`approval-quorum-result: ${events.length} events`);

await worker.shutdown();
await connection.close();
await server.stop();
