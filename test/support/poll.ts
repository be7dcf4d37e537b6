/**
 * The one polling helper of the tests: wait on a condition, never on a sleep. Deadlines are
 * generous (a shared 2-core machine can be slow); they only matter when something is wrong.
 */

/** Polls `probe` until it gives a value (errors count as "not yet"); fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 180_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
