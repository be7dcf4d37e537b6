/**
 * `resource_limits.memory_mb`: a reservation against the worker process's memory budget
 * (`WEFT_WORKER_MEMORY_MB`, default half the host's memory). A call that declares `memory_mb: M`
 * starts its connector (or model call) only while the `memory_mb` of the calls running on this
 * worker process plus M fit in the budget; until then it waits in line (first come, first served:
 * a large call is not overtaken by smaller ones forever), heartbeating so a cancellation reaches
 * it. A call over the whole budget could never start: it fails at once, for good.
 *
 * Why here and not in a Temporal slot supplier: a slot supplier reserves a slot before the worker
 * polls (its `reserveSlot` gets the slot type and task queue, no task), and sees the task only as
 * its activity type afterwards (`markSlotUsed`), never its input, so it cannot weigh a call by
 * what it declares. The budget is per worker process, an admission weight, not a cluster-wide
 * limit and not a measurement of what a call really uses.
 *
 * No library here: p-limit (the one in the tree) counts calls, it cannot weigh them.
 */
import { totalmem } from 'node:os';
import type { Context } from '@temporalio/activity';
import { ErrorTypes, nonRetryableFailure } from './errors.js';
import { HEARTBEAT_MS } from './heartbeat.js';

const MIB = 1024 * 1024;

/** The budget when `WEFT_WORKER_MEMORY_MB` is unset: half the host's memory, in whole MiB. */
export function defaultMemoryBudgetMb(): number {
  return Math.max(1, Math.floor(totalmem() / MIB / 2));
}

interface Waiter {
  mb: number;
  admit: () => void;
}

/** The memory reserved by the calls running on a worker process, and the line of those waiting. */
export class MemoryBudget {
  private reserved = 0;
  private readonly line: Waiter[] = [];

  constructor(readonly totalMb: number) {
    if (!Number.isInteger(totalMb) || totalMb < 1)
      throw new RangeError(`memory budget ${totalMb}: expected a whole number of MB ≥ 1`);
  }

  /** MB reserved by calls running now. */
  get reservedMb(): number {
    return this.reserved;
  }

  /** Calls waiting for memory. */
  get waiting(): number {
    return this.line.length;
  }

  /**
   * Reserves `mb`, waiting in line until it fits; resolves to the release (call it once the call
   * ended). Aborting `signal` while waiting leaves the line holding nothing and rejects with its
   * reason. Over the whole budget: rejects at once with a non-retryable `MemoryBudgetExceeded`.
   */
  reserve(mb: number, signal?: AbortSignal): Promise<() => void> {
    if (mb > this.totalMb) {
      return Promise.reject(
        nonRetryableFailure(
          ErrorTypes.MemoryBudgetExceeded,
          `resource_limits.memory_mb is ${mb} MB, more than this worker's whole memory budget of ${this.totalMb} MB (WEFT_WORKER_MEMORY_MB): the call could never start; lower memory_mb or give the worker a larger budget`,
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.reserved -= mb;
      this.admitWaiting();
    };
    if (this.line.length === 0 && this.reserved + mb <= this.totalMb) {
      this.reserved += mb;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        mb,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          this.reserved += mb;
          resolve(release);
        },
      };
      const onAbort = () => {
        const at = this.line.indexOf(waiter);
        if (at >= 0) this.line.splice(at, 1);
        // The first in line may have been what held the others back.
        this.admitWaiting();
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.line.push(waiter);
    });
  }

  /** Admits waiting calls in order while the first of them fits. */
  private admitWaiting(): void {
    while (this.line.length > 0 && this.reserved + (this.line[0]?.mb ?? 0) <= this.totalMb) {
      this.line.shift()?.admit();
    }
  }
}

const processBudgets = new Map<number, MemoryBudget>();

/** The process's budget of `mb` (default {@link defaultMemoryBudgetMb}): every worker of the process given it shares it. */
export function processMemoryBudget(mb: number = defaultMemoryBudgetMb()): MemoryBudget {
  let budget = processBudgets.get(mb);
  if (!budget) {
    budget = new MemoryBudget(mb);
    processBudgets.set(mb, budget);
  }
  return budget;
}

/**
 * Runs `work` holding `mb` of the budget (without `mb`: at once, reserving nothing). While it
 * waits it heartbeats with the details the attempt started with (so a later attempt still reads
 * them), and a cancellation ends the wait; the reservation is released however `work` ends.
 */
export async function withMemory<T>(
  ctx: Context,
  budget: MemoryBudget,
  mb: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (mb === undefined) return work();
  const details: unknown = ctx.info.heartbeatDetails;
  const beating = setInterval(() => ctx.heartbeat(details), HEARTBEAT_MS);
  let release: () => void;
  try {
    release = await budget.reserve(mb, ctx.cancellationSignal);
  } finally {
    clearInterval(beating);
  }
  try {
    return await work();
  } finally {
    release();
  }
}
