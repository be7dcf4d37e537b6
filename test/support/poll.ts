/**
 * The one polling helper of the tests: wait on a condition, never on a sleep. Deadlines are
 * generous (a shared 2-core machine can be slow); they only matter when something is wrong.
 *
 * - `until`: poll a probe until it gives a value; `untilTrue` for a plain condition.
 * - `stays`: check that a condition holds on every poll for a while (something must NOT happen).
 * - `pause`: the only other sleep allowed in test/, for waits that are no condition (time that
 *   must pass, a server's pacing, a bench's or chaos run's spacing); `why` says which.
 * Nothing else in test/ should sleep: a grep for a raw `new Promise(... setTimeout ...)` outside
 * this file finds none (not yet enforced by lint).
 */
import { AssertionError } from 'node:assert';

/** A message, or one computed at the deadline (to name what was last seen). */
type What = string | (() => string);

const named = (what: What) => (typeof what === 'string' ? what : what());

/**
 * Polls `probe` until it gives a value; fails naming `what` (and the last error) after
 * `timeoutMs`. Errors count as "not yet".
 */
export async function until<T>(
  what: What,
  probe: () => Promise<T | undefined>,
  timeoutMs = 180_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const value = await probe().catch((err: unknown) => {
      lastError = err;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const cause =
        lastError === undefined
          ? ''
          : ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})`;
      throw new Error(`timed out waiting for ${named(what)}${cause}`);
    }
    await pause(intervalMs, 'the polling interval');
  }
}

/** Polls a (sync or async) condition until it holds, as `until` does. */
export async function untilTrue(
  what: What,
  holds: () => boolean | Promise<boolean>,
  timeoutMs = 180_000,
  intervalMs = 200,
): Promise<void> {
  await until(what, async () => ((await holds()) ? true : undefined), timeoutMs, intervalMs);
}

/** Checks `holds` on every poll for `forMs`; fails at the first poll it does not, naming `what`. */
export async function stays(
  what: string,
  holds: () => boolean | Promise<boolean>,
  forMs: number,
  intervalMs = 100,
): Promise<void> {
  const end = Date.now() + forMs;
  for (;;) {
    if (!(await holds())) throw new AssertionError({ message: `no longer true: ${what}` });
    if (Date.now() >= end) return;
    await pause(Math.min(intervalMs, Math.max(0, end - Date.now())), 'the polling interval');
  }
}

/** A deliberate pause that waits for no condition; `why` says what it is for (it must say something). */
export function pause(ms: number, why: string): Promise<void> {
  if (why.trim() === '') throw new Error('pause: say why the test pauses');
  return new Promise((resolve) => setTimeout(resolve, ms));
}
