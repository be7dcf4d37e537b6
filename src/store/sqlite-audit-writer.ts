/**
 * Audit entries written off the gateway's event loop: a worker thread owns a second connection
 * to the SQLite file and commits the entries of concurrent requests together (one synced
 * transaction per batch, `sqlite-audit-thread.ts`). `append` resolves once the entry's batch is
 * committed, so a request that waits for it is answered only when its entry is durable, while
 * other requests go on being served. An in-memory store (one connection only) writes inline.
 */
import { Worker } from 'node:worker_threads';
import { AUDIT_COLUMNS, type AuditEntry } from './definition-store.js';

export const AUDIT_INSERT = `INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

/** One entry sent to the thread. */
export interface AuditWrite {
  id: number;
  entry: AuditEntry;
}
/** The thread's answer for one committed (or failed) batch. */
export interface AuditBatchAnswer {
  ids: number[];
  error?: string;
}

export class AuditWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private closed: Promise<void> | undefined;

  constructor(path: string) {
    this.worker = new Worker(new URL('./sqlite-audit-thread.js', import.meta.url), { workerData: { path } });
    // Only waiting requests keep the process alive, not the idle thread.
    this.worker.unref();
    this.worker.on('message', (answer: AuditBatchAnswer) => {
      for (const id of answer.ids) {
        const waiter = this.waiting.get(id);
        this.waiting.delete(id);
        if (answer.error === undefined) waiter?.resolve();
        else waiter?.reject(new Error(`audit log: ${answer.error}`));
      }
      if (this.waiting.size === 0) this.worker.unref();
    });
    const stop = (err: Error) => {
      this.failure ??= err;
      for (const waiter of this.waiting.values()) waiter.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', stop);
    this.worker.on('exit', (code) => stop(new Error(`audit log: the writer thread exited (code ${code})`)));
  }

  /** Resolves once `entry` is committed; rejects when its batch failed or the thread is gone. */
  append(entry: AuditEntry): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('audit log: the store is closed'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, entry } satisfies AuditWrite);
    });
  }

  /** Waits for the entries sent so far to be committed, then stops the thread. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.failure) return;
      this.worker.ref();
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage('close');
      await exited;
    })();
    return this.closed;
  }
}
