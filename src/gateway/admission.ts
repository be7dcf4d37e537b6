/**
 * Admission by open runs (the tenant's `concurrent_runs` quota): whether one more run of a
 * tenant may start now, without making concurrent starts wait for each other. Temporal
 * visibility counts the tenant's running runs; a count is reused for `RECOUNT_MS`, and what this
 * gateway started since it was asked (and what was still starting then) is added to it, so the
 * estimate is never below what this gateway knows of. A start the estimate would refuse asks for
 * a fresh count first (runs may have completed since), so a refusal always rests on a count asked
 * after the request arrived. The check and the reservation happen in one synchronous step, so
 * this gateway's own concurrent starts cannot overshoot; other gateways (and runs started by
 * Temporal itself, such as schedules) are seen once visibility counts them.
 */

/** How long one visibility count serves the starts of a tenant. */
export const RECOUNT_MS = 1_000;

interface Count {
  running: number;
  /** When the count was asked for (ms). */
  at: number;
  /** `begun` and `starting` when it was asked for. */
  begun: number;
  starting: number;
}

export interface AdmissionOptions {
  /** The tenant's running runs, as visibility counts them. */
  count(): Promise<number>;
  now?: () => number;
}

export class OpenRunsAdmission {
  /** Starts admitted by this gateway so far. */
  private begun = 0;
  /** Starts admitted whose `workflow.start` has not returned yet. */
  private starting = 0;
  private last: Count | undefined;
  private asking: Promise<Count> | undefined;
  private askingAt = -Infinity;
  private readonly now: () => number;

  constructor(private readonly options: AdmissionOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** A count asked for at or after `since`: the one in flight when it qualifies, else a new one. */
  private countSince(since: number): Promise<Count> {
    if (this.asking && this.askingAt >= since) return this.asking;
    const at = this.now();
    const snapshot = { at, begun: this.begun, starting: this.starting };
    const asking = this.options.count().then((running) => {
      const count = { running, ...snapshot };
      if (!this.last || this.last.at <= at) this.last = count;
      return count;
    });
    this.asking = asking;
    this.askingAt = at;
    void asking
      .finally(() => {
        if (this.asking === asking) this.asking = undefined;
      })
      .catch(() => undefined);
    return asking;
  }

  /** The open runs a count and what this gateway started since make, at most. */
  private estimate(count: Count): number {
    return count.running + count.starting + (this.begun - count.begun);
  }

  /**
   * Reserves a place for one start when fewer than `limit` runs are open: `admitted` with the
   * function to call once the start returned (started or not), else the estimate that refused it.
   */
  async admit(
    limit: number,
  ): Promise<{ admitted: true; open: number; done: () => void } | { admitted: false; open: number }> {
    const arrived = this.now();
    const cached = this.last && arrived - this.last.at < RECOUNT_MS ? this.last : undefined;
    let count = cached ?? (await this.countSince(arrived));
    if (this.estimate(count) >= limit && count.at < arrived) count = await this.countSince(arrived);
    const open = this.estimate(count);
    if (open >= limit) return { admitted: false, open };
    this.begun += 1;
    this.starting += 1;
    let done = false;
    return {
      admitted: true,
      open: open + 1,
      done: () => {
        if (done) return;
        done = true;
        this.starting -= 1;
      },
    };
  }
}
