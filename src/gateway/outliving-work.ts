/**
 * Temporal calls that outlive the request that made them: an event whose answer was given at its
 * bound (503) while the SDK still retries the publish, or a control Update answered late. The
 * gateway waits for them before it closes its Temporal connection; otherwise the SDK's retry
 * timer fires on a closed channel and grpc-js throws ("Channel has been shut down") outside any
 * promise, which crashes the process.
 */
export class OutlivingWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles; its failure is nobody's to handle any more. */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  /** Resolves once every tracked call settled, or after `timeoutMs`, whichever comes first. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all([...this.pending]), cap]);
    clearTimeout(timer);
  }
}
