/**
 * The bound on the run state's size (`state_bytes`). The state is plain JSON that Temporal
 * carries whole: as the `state` query's answer (4 MB per gRPC message), as the input of
 * continue-as-new together with the definition and as the run's result (2 MB per payload). A
 * state past those limits fails the workflow task again and again, for ever; so a step whose
 * result would push the state's values over the bound fails its node with `StateTooLarge`
 * instead, through the normal failure path (error edges and handlers apply).
 *
 * What is measured: the UTF-8 length of the JSON of the values the run holds, the run input,
 * every variable, every node's output, the items and results of maps in progress and the
 * buffered events, each counted as often as the state's JSON holds it (a `set` node's values are
 * in the variables and in its output). History, lineage and error messages are bounded by count
 * and length elsewhere and are not counted. Each value is measured once: its size is cached by
 * identity (a value replaced by another is measured again), so a check costs a lookup per
 * variable and node, not a serialization of the state. The measure is a pure function of the
 * state, so it is the same on replay, after continue-as-new and in a fresh worker.
 */
import type { ExternalEvent } from './commands.js';
import { utf8Length } from './definition-limits.js';
import type { NodeError, RunState } from './run-state.js';

/** The error type of a node whose result would make the state too large. */
export const STATE_TOO_LARGE = 'StateTooLarge';

/** The bound on runs that have no `state_bytes` pinned (started before it existed, or without quotas). */
export const DEFAULT_STATE_BYTES = 1024 * 1024;

/** UTF-8 length of a value's JSON (`undefined` counts as `null`, as in an array). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 4 : utf8Length(text);
}

interface Slot {
  value: unknown;
  bytes: number;
}

/** Sizes per slot (`v:name`, `o:node`, `i`), cached by the value's identity; never part of the state's JSON. */
const caches = new WeakMap<RunState, Map<string, Slot>>();
/** Sizes of buffered events and map items, by identity. */
const objects = new WeakMap<object, number>();

function slotBytes(cache: Map<string, Slot>, key: string, value: unknown): number {
  const slot = cache.get(key);
  if (slot && slot.value === value) return slot.bytes;
  const bytes = jsonBytes(value);
  cache.set(key, { value, bytes });
  return bytes;
}

function objectBytes(value: object): number {
  let bytes = objects.get(value);
  if (bytes === undefined) {
    bytes = jsonBytes(value);
    objects.set(value, bytes);
  }
  return bytes;
}

function cacheOf(state: RunState): Map<string, Slot> {
  let cache = caches.get(state);
  if (!cache) {
    cache = new Map();
    caches.set(state, cache);
  }
  return cache;
}

/**
 * The results of a map in progress change in place, item by item: their size is kept up to
 * date by {@link mapResultBytes} (exact: one item's JSON replaces another's in the array's).
 */
const mapResults = new WeakMap<unknown[], number>();

/** A map's items never change once it started. */
const itemsBytes = (items: unknown[]): number => objectBytes(items);

function resultsBytes(results: unknown[]): number {
  let bytes = mapResults.get(results);
  if (bytes === undefined) {
    bytes = jsonBytes(results);
    mapResults.set(results, bytes);
  }
  return bytes;
}

/** The measured size of the state's values (see the module comment). */
export function stateBytes(state: RunState): number {
  // Loops without allocation: a wide map has a thousand executions in flight, and this runs per item.
  const cache = cacheOf(state);
  let total = slotBytes(cache, 'i', state.input);
  for (const name in state.vars) total += slotBytes(cache, `v:${name}`, state.vars[name]);
  for (const id in state.nodes) {
    const output = state.nodes[id]?.output;
    if (output !== undefined) total += slotBytes(cache, `o:${id}`, output);
  }
  for (const exec in state.inflight) {
    const execution = state.inflight[exec];
    if (execution?.kind === 'map') total += itemsBytes(execution.items) + resultsBytes(execution.results);
  }
  for (const event of state.event_buffer) total += objectBytes(event);
  return total;
}

/** What a step is about to write: variables (name to value) and the node's output. */
export interface StateWrite {
  vars?: Record<string, unknown>;
  output?: { node: string; value: unknown };
  /** A map item's result replacing `results[index]` of the map in progress `exec`. */
  mapItem?: { results: unknown[]; index: number; value: unknown };
  /** An event to be buffered. */
  buffer?: ExternalEvent;
  /** A map in progress that the write removes (its items and results leave the state). */
  removesMap?: string;
}

/** The state's size after `write`, measured without applying it. */
export function bytesAfter(state: RunState, write: StateWrite): { before: number; after: number; added: number } {
  const before = stateBytes(state);
  const cache = cacheOf(state);
  let after = before;
  for (const [name, value] of Object.entries(write.vars ?? {})) {
    const old = name in state.vars ? slotBytes(cache, `v:${name}`, state.vars[name]) : 0;
    after += jsonBytes(value ?? null) - old;
  }
  if (write.output) {
    const old = state.nodes[write.output.node]?.output;
    after += jsonBytes(write.output.value) - (old === undefined ? 0 : slotBytes(cache, `o:${write.output.node}`, old));
  }
  if (write.mapItem) {
    after += jsonBytes(write.mapItem.value ?? null) - jsonBytes(write.mapItem.results[write.mapItem.index] ?? null);
  }
  if (write.buffer) after += objectBytes(write.buffer);
  if (write.removesMap !== undefined) {
    const map = state.inflight[write.removesMap];
    if (map?.kind === 'map') after -= itemsBytes(map.items) + resultsBytes(map.results);
  }
  return { before, after, added: after - before };
}

/** Records that a map item's result was written (keeps the cached size of the results exact). */
export function mapResultWritten(results: unknown[], index: number, value: unknown): void {
  const bytes = mapResults.get(results);
  if (bytes === undefined) return;
  // Called before the write: the old item's JSON leaves the array's, the new one's enters.
  mapResults.set(results, bytes - jsonBytes(results[index] ?? null) + jsonBytes(value ?? null));
}

/** The run's bound: its pinned `state_bytes`, else the default. */
export function stateLimit(state: RunState): number {
  return state.quotas?.state_bytes ?? DEFAULT_STATE_BYTES;
}

const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * The failure of a node whose `write` would take the state over its bound, or undefined when it
 * fits. `enforce` is asked only when the write does not fit (the workflow answers with
 * `patched()`, so runs recorded before the bound replay as they ran); absent: enforced.
 */
export function stateRefusal(
  state: RunState,
  node: string,
  write: StateWrite,
  enforce?: () => boolean,
): NodeError | undefined {
  const limit = stateLimit(state);
  const { after, added } = bytesAfter(state, write);
  if (after <= limit || added <= 0) return undefined;
  if (enforce && !enforce()) return undefined;
  return {
    type: STATE_TOO_LARGE,
    node,
    message:
      `node "${node}" would make the run state ${count(after)} bytes of JSON (${count(added)} added), ` +
      `above the limit of ${count(limit)} bytes (quota "state_bytes"); keep large data outside the run ` +
      `(store it with a connector and pass a reference) or select less of it`,
  };
}
