/**
 * The audit writer's thread (`sqlite-audit-writer.ts` starts it): its own connection to the
 * store's SQLite file, inserting every entry that arrived while the previous batch was being
 * committed in one transaction (group commit), then telling the gateway which entries are durable.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { auditValues } from './definition-store.js';
import { AUDIT_INSERT, type AuditBatchAnswer, type AuditWrite } from './sqlite-audit-writer.js';

const port = parentPort;
if (!port) throw new Error('sqlite-audit-thread runs only as a worker thread');
const { path } = workerData as { path: string };
const db = new Database(path);
db.pragma('journal_mode = WAL');
// Each batch's commit is synced before it is answered: an answered request's entry survives a crash.
db.pragma('synchronous = FULL');
const insert = db.prepare(AUDIT_INSERT);
const insertAll = db.transaction((writes: AuditWrite[]) => {
  for (const write of writes) insert.run(...auditValues(write.entry));
});

let queue: AuditWrite[] = [];
let scheduled = false;

/** Commits everything queued so far: messages that arrive meanwhile wait for the next batch. */
function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  let answer: AuditBatchAnswer;
  try {
    insertAll.immediate(batch);
    answer = { ids: batch.map((w) => w.id) };
  } catch (err) {
    answer = { ids: batch.map((w) => w.id), error: err instanceof Error ? err.message : String(err) };
  }
  port?.postMessage(answer);
}

port.on('message', (write: AuditWrite | 'close') => {
  if (write === 'close') {
    if (queue.length > 0) flush();
    db.close();
    port.close();
    return;
  }
  queue.push(write);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
