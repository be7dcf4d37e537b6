/**
 * What changed between two versions of a definition, for
 * `GET /v1/definitions/{id}/versions/{a}/diff/{b}`: nodes (by id) and edges (by from + to + on)
 * added, removed and changed, and the changed top-level fields. Values are compared as
 * canonical JSON, so key order never counts as a change.
 */
import type { Definition, Edge, Node, VersionedDefinition } from '../../interpreter/definition-schema.js';
import { canonicalJson } from '../shared/canonical-json.js';

/** The top-level fields compared as wholes (nodes and edges are compared item by item). */
export const DIFFED_FIELDS = ['name', 'description', 'variables', 'options', 'triggers', 'error_handlers'] as const;
export type DiffedField = (typeof DIFFED_FIELDS)[number];

export interface Changed<T> {
  /** The item's properties whose values differ. */
  fields: string[];
  before: T;
  after: T;
}

export interface ItemDiff<T, K> {
  added: T[];
  removed: T[];
  changed: Array<K & Changed<T>>;
}

export interface FieldChange {
  field: DiffedField;
  /** Absent when the field is absent in the older version. */
  before?: unknown;
  /** Absent when the field is absent in the newer version. */
  after?: unknown;
}

export interface DefinitionDiff {
  id: string;
  from_version: string;
  to_version: string;
  /** True when nothing below lists a change. */
  identical: boolean;
  fields: FieldChange[];
  nodes: ItemDiff<Node, { id: string }>;
  edges: ItemDiff<Edge, { from: string; to: string; on: Edge['on'] }>;
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

function changedKeys(before: object, after: object): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys]
    .filter((k) => !same((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k]))
    .sort();
}

/**
 * Matches items by key. Keys may repeat (two edges between the same nodes, one with `when`):
 * the n-th item with a key in one version is matched with the n-th in the other.
 */
function diffItems<T extends object, K>(before: T[], after: T[], key: (item: T) => string, identity: (item: T) => K) {
  const occurrenceKeys = (items: T[]) => {
    const seen = new Map<string, number>();
    return items.map((item) => {
      const k = key(item);
      const n = seen.get(k) ?? 0;
      seen.set(k, n + 1);
      return `${k}\u0000${n}`;
    });
  };
  const beforeKeys = occurrenceKeys(before);
  const afterKeys = occurrenceKeys(after);
  const beforeByKey = new Map(beforeKeys.map((k, i) => [k, before[i] as T]));
  const afterSet = new Set(afterKeys);
  const result: ItemDiff<T, K> = { added: [], removed: [], changed: [] };
  before.forEach((item, i) => {
    if (!afterSet.has(beforeKeys[i] as string)) result.removed.push(item);
  });
  after.forEach((item, i) => {
    const old = beforeByKey.get(afterKeys[i] as string);
    if (old === undefined) result.added.push(item);
    else if (!same(old, item)) {
      result.changed.push({ ...identity(item), fields: changedKeys(old, item), before: old, after: item });
    }
  });
  return result;
}

/** The changes that turn `from` into `to`. */
export function diffDefinitions(from: VersionedDefinition, to: VersionedDefinition): DefinitionDiff {
  const fields: FieldChange[] = [];
  for (const field of DIFFED_FIELDS) {
    const before = (from as Definition)[field];
    const after = (to as Definition)[field];
    if (same(before, after)) continue;
    fields.push({ field, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) });
  }
  const nodes = diffItems(
    from.nodes,
    to.nodes,
    (n) => n.id,
    (n) => ({ id: n.id }),
  );
  const edges = diffItems(
    from.edges,
    to.edges,
    (e) => JSON.stringify([e.from, e.to, e.on]),
    (e) => ({ from: e.from, to: e.to, on: e.on }),
  );
  const empty = (d: ItemDiff<unknown, unknown>) => d.added.length + d.removed.length + d.changed.length === 0;
  return {
    id: to.id,
    from_version: from.version,
    to_version: to.version,
    identical: fields.length === 0 && empty(nodes) && empty(edges),
    fields,
    nodes,
    edges,
  };
}
