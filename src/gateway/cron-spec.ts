/**
 * Checks a schedule trigger's `cron` the way Temporal's schedule spec reads it, so a bad
 * expression is refused at submit (400, naming the trigger) instead of failing later when the
 * Temporal Schedule is created. Accepted forms, as Temporal accepts them:
 *
 * - 5 fields `minute hour day-of-month month day-of-week`, 6 (+ year) or 7 (second first, + year);
 * - each field: `*`, values, ranges `a-b`, steps `x/n` and `a-b/n`, lists `x,y`; month names
 *   (3+ letters, `JAN`), day names (2+ letters, `MON`); day-of-week 0–7 (7 is Sunday);
 * - `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`,
 *   `@every <duration>[/<phase>]` (Go durations such as `90s`, `1h30m`, at least 1 s);
 * - an optional `CRON_TZ=<zone> ` prefix and a trailing `# comment`.
 *
 * It is deliberately no more permissive than Temporal (e.g. `?` and `L` are refused).
 */

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Shortest accepted prefix of a name. */
  minPrefix?: number;
  /** The value of the first name (months count from 1, days from 0). */
  nameBase?: number;
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: 'day of month', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12, names: MONTHS, minPrefix: 3, nameBase: 1 };
const DAY_OF_WEEK: Field = { name: 'day of week', min: 0, max: 7, names: DAYS, minPrefix: 2, nameBase: 0 };
// Temporal's calendar only knows these years.
const YEAR: Field = { name: 'year', min: 2000, max: 2100 };

const LAYOUTS: Record<number, Field[]> = {
  5: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK],
  6: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
  7: [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
};

const SHORTHANDS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

const GO_DURATION =
  /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d))*$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };

function goDurationMs(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/g)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  }
  return total;
}

/** Whether the runtime knows the IANA time zone (Temporal's own list is the same database). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

function value(text: string, field: Field, min: number): number | undefined {
  if (field.names && text.length >= (field.minPrefix ?? 1) && /^[A-Za-z]+$/.test(text)) {
    const index = field.names.findIndex((name) => name.startsWith(text.toLowerCase()));
    return index < 0 ? undefined : index + (field.nameBase ?? 0);
  }
  if (!/^\d{1,4}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= field.max ? n : undefined;
}

function fieldProblem(text: string, field: Field): string | undefined {
  const range = `${field.min}-${field.max}`;
  for (const part of text.split(',')) {
    const [span = '', step, extra] = part.split('/');
    if (extra !== undefined) return `the ${field.name} "${part}" has more than one "/"`;
    if (step !== undefined && !/^[1-9]\d{0,3}$/.test(step)) {
      return `the ${field.name} step in "${part}" must be a whole number of at least 1`;
    }
    if (span === '*') continue;
    const [from = '', to, more] = span.split('-');
    if (more !== undefined) return `the ${field.name} "${part}" has more than one "-"`;
    const start = value(from, field, field.min);
    if (start === undefined) return `the ${field.name} "${part}" is not a value in ${range}${names(field)}`;
    if (to !== undefined && value(to, field, start) === undefined) {
      return `the ${field.name} range "${part}" must end at or after its start, within ${range}`;
    }
  }
  return undefined;
}

const names = (field: Field) => (field.names ? ` or a ${field.name === 'month' ? 'month' : 'day'} name` : '');

/** Returns what is wrong with a cron expression, or undefined when Temporal will accept it. */
export function cronProblem(cron: string): string | undefined {
  let text = cron.trim();
  const tz = /^(?:CRON_TZ|TZ)=(\S*)(?:\s+|$)/.exec(text);
  if (tz) {
    if (!isTimeZone(tz[1] ?? '')) return `unknown time zone "${tz[1] ?? ''}" in the CRON_TZ= prefix`;
    text = text.slice(tz[0].length);
    if (text === '') return 'the CRON_TZ= prefix must be followed by the schedule';
  }
  const [schedule = '', ...comment] = text.split('#');
  if (comment.join('#').trim().length > 200) return 'the # comment must be at most 200 characters';
  text = schedule.trim();
  if (text.startsWith('@every')) {
    const [interval = '', phase, extra] = text.slice('@every '.length).split('/');
    const every = text.startsWith('@every ') ? goDurationMs(interval) : undefined;
    if (every === undefined || extra !== undefined) {
      return 'expected "@every <duration>", such as "@every 90s" or "@every 1h30m"';
    }
    if (every < 1_000) return 'an @every interval must be at least 1s';
    if (phase !== undefined) {
      const offset = goDurationMs(phase);
      if (offset === undefined || offset >= every)
        return 'the @every phase must be a duration shorter than the interval';
    }
    return undefined;
  }
  if (text.startsWith('@')) {
    return SHORTHANDS.has(text)
      ? undefined
      : `unknown shorthand "${text}"; expected one of ${[...SHORTHANDS].join(', ')}, or @every <duration>`;
  }
  const parts = text.split(/\s+/).filter(Boolean);
  const layout = LAYOUTS[parts.length];
  if (!layout) {
    return `expected 5 fields (minute hour day-of-month month day-of-week), 6 (+ year) or 7 (second first, + year); got ${parts.length}`;
  }
  for (const [i, field] of layout.entries()) {
    const problem = fieldProblem(parts[i] ?? '', field);
    if (problem) return problem;
  }
  return undefined;
}
