/**
 * Bounded failure messages. Temporal terminates a run whose failure (or any payload) passes
 * about 2 MB, and every failure message is also kept in the run state, its history entries and
 * the gateway's answers; so activities and the workflow cut messages to `MAX_MESSAGE_BYTES` of
 * UTF-8, ending them with "… (truncated, N bytes)". Pure: used by the workflow and activities.
 */

/** The longest failure message, in UTF-8 bytes, marker included. */
export const MAX_MESSAGE_BYTES = 8 * 1024;

const utf8Length = (codePoint: number) => (codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4);

function byteLength(text: string): number {
  let total = 0;
  for (const char of text) total += utf8Length(char.codePointAt(0) ?? 0);
  return total;
}

/**
 * `text` cut to at most `max` UTF-8 bytes, marker included, never inside a character; text
 * within the bound is returned unchanged (the same string).
 */
export function truncateMessage(text: string, max = MAX_MESSAGE_BYTES): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8: short text needs no counting.
  if (text.length * 3 <= max) return text;
  const total = byteLength(text);
  if (total <= max) return text;
  const marker = `… (truncated, ${total} bytes)`;
  const room = Math.max(0, max - byteLength(marker));
  let used = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Length(char.codePointAt(0) ?? 0);
    if (used + size > room) break;
    used += size;
    end += char.length;
  }
  return `${text.slice(0, end)}${marker}`;
}
