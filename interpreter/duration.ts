/**
 * Durations in definitions are a number of milliseconds or a string such as `"250ms"`,
 * `"30s"`, `"5m"`, `"2h"`, `"1d"`. Everything downstream works in milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Parses a duration; returns `undefined` when the value is not a valid duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = UNIT_MS[match[2] ?? ''];
  return unit === undefined ? undefined : Math.round(amount * unit);
}

/** Like {@link parseDuration} but for values already validated by the schema. */
export function durationMs(value: number | string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new Error(`invalid duration ${JSON.stringify(value)}`);
  return ms;
}
