/**
 * "Did you mean …?" for a misspelt name. The distance is Damerau–Levenshtein's optimal string
 * alignment (a swap of two neighbours counts once, as typists make it). Written here because no
 * direct dependency offers it and names are at most 64 characters: the quadratic table is tiny.
 */

/** Edits (insert, delete, substitute, swap neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...new Array<number>(b.length).fill(0)]);
  const row0 = rows[0] as number[];
  for (let j = 0; j <= b.length; j++) row0[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const previous = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The candidate closest to `name`, when it is close enough to be a slip rather than another
 * name: the same letters in another case, its beginning (four letters at least), or at most one
 * edit per three characters (at least one).
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    // A name cut short (`started` for `started_at`) is a slip too, once it is long enough to tell.
    const prefix = name.length >= 4 && candidate.startsWith(name);
    const distance =
      candidate.toLowerCase() === name.toLowerCase()
        ? 0.5
        : prefix
          ? Math.min(limit, editDistance(name, candidate))
          : editDistance(name, candidate);
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
