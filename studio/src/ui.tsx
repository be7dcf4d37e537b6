/** Small shared pieces: loading data, showing an error with the API's problems, navigation. */
import { useEffect, useState } from 'react';
import { ApiError, NetworkError } from './api.js';

export function go(hash: string): void {
  window.location.hash = hash;
}

/**
 * Loads `load()` when `deps` change; `data` stays the last good answer while reloading, and
 * `fresh` says whether it is the answer for the current `deps` (a list under a new filter should
 * not pass off the previous filter's rows as its own).
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; fresh: boolean; loading: boolean; error: unknown; reload: () => void } {
  const [answer, setAnswer] = useState<{ key: string; value: T } | undefined>(undefined);
  const [error, setError] = useState<{ key: string; value: unknown } | null>(null);
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(deps);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => {
        if (!current) return;
        setAnswer({ key, value });
        setError(null);
      },
      (err: unknown) => {
        if (current) setError({ key, value: err });
      },
    );
    return () => {
      current = false;
    };
    // `load` is a new closure every render; what it depends on is in `deps`.
  }, [...deps, tick]);
  const fresh = answer?.key === key;
  return {
    data: answer?.value,
    fresh,
    loading: !fresh && error?.key !== key,
    // An error belongs to what it loaded: a new filter's load does not inherit the last one's.
    error: error?.key === key ? error.value : null,
    reload: () => setTick((n) => n + 1),
  };
}

export function ErrorLine({ error }: { error: unknown }) {
  if (error instanceof ApiError) {
    return (
      <div className="error" role="alert">
        <strong>{error.code}</strong>: {error.message}
        {error.details.length > 0 && (
          <ul>
            {error.details.map((d, i) => (
              <li key={i}>
                <code>{d.path || '/'}</code> {d.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  if (error instanceof NetworkError)
    return (
      <div className="error network" role="alert">
        {error.message}
      </div>
    );
  return (
    <div className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </div>
  );
}

/** A value as readable JSON. Masked secrets arrive from the API as "***" and are shown so. */
export function Json({ value }: { value: unknown }) {
  return <pre className="json-view">{value === undefined ? '—' : JSON.stringify(value, null, 2)}</pre>;
}

/** A search box over a list: what is typed, and the items one of whose `texts` holds it (case-insensitive). */
export function useSearch<T>(
  items: T[] | undefined,
  texts: (item: T) => Array<string | undefined>,
): { search: string; setSearch: (text: string) => void; wanted: string; matches: T[] } {
  const [search, setSearch] = useState('');
  const wanted = search.trim().toLowerCase();
  const matches = (items ?? []).filter(
    (item) => wanted === '' || texts(item).some((text) => (text ?? '').toLowerCase().includes(wanted)),
  );
  return { search, setSearch, wanted, matches };
}
