/**
 * The mailbox of one (tenant, task queue, event type, correlation key): the durable home of the events
 * posted for it and the list of runs waiting on it. The gateway and the NATS consumer address
 * it with signal-with-start (`publish`), so an event is in Temporal's history before it is
 * acknowledged; a run whose `event` node waits registers with it (`register`, through the
 * `registerEventWait` activity) and is sent, as `event` signals, every event the mailbox keeps
 * and every event that arrives while it waits. Events are kept for the retention window (24 h
 * by default), so a run that starts waiting later still gets them; the run ignores an event id
 * it has seen. Signals have no in-flight limit, unlike Updates, and each run is sent only what
 * its own key's mailbox holds. A mailbox with neither events nor waiting runs completes.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  patched,
  proxySinks,
  setHandler,
  workflowInfo,
  type Sinks,
} from '@temporalio/workflow';
import type { ExternalEvent } from '../interpreter/commands.js';
import { utf8Length } from '../interpreter/definition-limits.js';

/** How long a mailbox keeps an event for runs that start waiting later, unless told otherwise. */
export const DEFAULT_EVENT_RETENTION_MS = 24 * 60 * 60_000;
/** Events one mailbox keeps at most; beyond it the oldest is dropped (counted as expired, `overflow`). */
export const MAILBOX_EVENT_LIMIT = 1_000;
/** Bytes of events (as JSON) one mailbox keeps at most, so its continue-as-new input stays within Temporal's 2 MB. */
export const MAILBOX_BYTE_LIMIT = 1_500_000;
/** Runs one event remembers having been sent to (what `delivered_to` can show). */
const SENT_TO_LIMIT = 200;
/** Signals a mailbox sends at once (Temporal bounds a workflow's pending external signals). */
const FORWARD_BATCH = 200;
/**
 * Since this patch, events for one run are sent one after another, each once the one before is
 * signalled, so the run receives them in the mailbox's order (signals sent at once can arrive in
 * any order: a late run took the newest kept event instead of the oldest). Asked only for a batch
 * with two or more events for one run, so older histories replay as they were.
 */
export const MAILBOX_ORDER_PATCH = 'weft-mailbox-in-order';
/** The mailbox continues-as-new once its history holds this many events. */
const MAILBOX_CONTINUE_AFTER = 2_000;
/**
 * Since this patch a mailbox is bounded in what it sends, not only in what it keeps: each event
 * signal writes the event into the mailbox's history once per run sent to, so signals go out in
 * batches of at most SEND_BATCH_BYTES of events, the history is checked between batches and the
 * unsent queue is carried across continue-as-new. Sizes are UTF-8 bytes (they were UTF-16 code
 * units), and the bound on what is kept counts the runs each event was sent to and the waiting
 * runs, all carried by continue-as-new. Asked when a mailbox first keeps, registers or sends, so
 * older histories replay as they were.
 */
export const MAILBOX_BOUND_PATCH = 'weft-mailbox-bounded-sends';
/** Bytes of events one batch of signals carries at most (one workflow task's commands stay far below gRPC's 4 MB). */
export const SEND_BATCH_BYTES = 1024 * 1024;
/** History bytes past which the mailbox continues-as-new between batches (Temporal warns at 10 MB, fails at 50 MB). */
export const MAILBOX_HISTORY_BYTES = 8 * 1024 * 1024;

export interface MailboxArgs {
  event_type: string;
  /** The correlation key as the engine compares it (a string), or null: events without a key. */
  correlation_key: string | null;
  retention_ms?: number;
  /** Carried across continue-as-new. */
  resume?: {
    events: RetainedEvent[];
    waiting: [string, string][];
    /**
     * The signals not sent yet (MAILBOX_BOUND_PATCH), in order: runs with the events to send
     * them, as indexes into `events` followed by `unkept` (events sent but no longer kept).
     */
    outbox?: [string, number[]][];
    unkept?: ExternalEvent[];
  };
}

export interface RetainedEvent {
  event: ExternalEvent;
  expires_at: number;
  /** Its JSON's size (UTF-8 bytes since MAILBOX_BOUND_PATCH, with those of `sent_to`). */
  bytes: number;
  /** Runs (workflow ids) this event was sent to. */
  sent_to: string[];
}

export interface MailboxView {
  event_type: string;
  correlation_key: string | null;
  waiting: string[];
  events: number;
}

export const publishSignal = defineSignal<[ExternalEvent]>('publish');
/**
 * A run waits here (`token`: the wait that registered it) / waits no longer. An `unregister`
 * naming an older token than the run's latest registration is ignored, so a late one never
 * removes a run that started waiting again.
 */
export const registerSignal = defineSignal<[{ workflow_id: string; token: string }]>('register');
export const unregisterSignal = defineSignal<[{ workflow_id: string; token: string }]>('unregister');
/** The runs one event (by id) was sent to so far; [] when the mailbox does not hold it. */
export const sentToQuery = defineQuery<string[], [string]>('sent_to');
export const mailboxQuery = defineQuery<MailboxView>('mailbox');

/** What the worker counts for mailboxes (never called on replay). */
export interface EventSinks extends Sinks {
  weftEvents: {
    /** The number of events this mailbox now keeps (the pending gauge sums them). */
    pending(count: number): void;
    expired(reason: 'retention' | 'overflow', count: number): void;
    /** A run took an event at a waiting node; ms since the gateway accepted it. */
    delivered(latency_ms: number): void;
  };
}
const { weftEvents } = proxySinks<EventSinks>();

export async function eventMailbox(args: MailboxArgs): Promise<void> {
  const retention = args.retention_ms ?? DEFAULT_EVENT_RETENTION_MS;
  const events: RetainedEvent[] = args.resume?.events ?? [];
  const waiting = new Map<string, string>(args.resume?.waiting ?? []);
  const outbox: { to: string; event: ExternalEvent }[] = [];
  const carried = [...events.map((e) => e.event), ...(args.resume?.unkept ?? [])];
  for (const [to, refs] of args.resume?.outbox ?? [])
    for (const i of refs) {
      const event = carried[i];
      if (event) outbox.push({ to, event });
    }
  let changed = true;
  let bytesKept = events.reduce((sum, e) => sum + e.bytes, 0);
  const bounded = (): boolean => patched(MAILBOX_BOUND_PATCH);
  /** What the waiting runs add to the continue-as-new input (MAILBOX_BOUND_PATCH). */
  const waitingBytes = (): number => {
    let bytes = 0;
    for (const [id, token] of waiting) bytes += utf8Length(id) + utf8Length(token) + 8;
    return bytes;
  };
  /** Drops the oldest events while more are kept than the bounds allow (the newest always stays). */
  const trim = (limit: number): void => {
    let dropped = 0;
    while (events.length > 1 && (events.length > MAILBOX_EVENT_LIMIT || bytesKept > limit)) {
      bytesKept -= (events.shift() as RetainedEvent).bytes;
      dropped++;
    }
    if (dropped > 0) weftEvents.expired('overflow', dropped);
  };

  setHandler(publishSignal, (event) => {
    if (event.event_id !== undefined && events.some((e) => e.event.event_id === event.event_id)) return;
    const sentTo = [...waiting.keys()].slice(0, SENT_TO_LIMIT);
    const isBounded = bounded();
    const bytes = isBounded
      ? utf8Length(JSON.stringify(event)) + utf8Length(JSON.stringify(sentTo)) + 48
      : JSON.stringify(event).length;
    events.push({ event, expires_at: Date.now() + retention, bytes, sent_to: sentTo });
    bytesKept += bytes;
    trim(isBounded ? MAILBOX_BYTE_LIMIT - waitingBytes() : MAILBOX_BYTE_LIMIT);
    for (const to of waiting.keys()) outbox.push({ to, event });
    changed = true;
  });
  setHandler(registerSignal, ({ workflow_id, token }) => {
    // A run registers again after a continue-as-new: it is sent everything again and ignores what it saw.
    waiting.set(workflow_id, token);
    const isBounded = events.length > 0 && bounded();
    for (const retained of events) {
      if (!retained.sent_to.includes(workflow_id) && retained.sent_to.length < SENT_TO_LIMIT) {
        retained.sent_to.push(workflow_id);
        if (isBounded) {
          const added = utf8Length(workflow_id) + 3;
          retained.bytes += added;
          bytesKept += added;
        }
      }
      outbox.push({ to: workflow_id, event: retained.event });
    }
    if (isBounded) trim(MAILBOX_BYTE_LIMIT - waitingBytes());
    changed = true;
  });
  setHandler(unregisterSignal, ({ workflow_id, token }) => {
    if (waiting.get(workflow_id) === token) waiting.delete(workflow_id);
    changed = true;
  });
  setHandler(sentToQuery, (eventId) => events.find((e) => e.event.event_id === eventId)?.sent_to ?? []);
  setHandler(mailboxQuery, () => ({
    event_type: args.event_type,
    correlation_key: args.correlation_key,
    waiting: [...waiting.keys()],
    events: events.length,
  }));

  for (;;) {
    const next = events[0]?.expires_at;
    await condition(
      () => outbox.length > 0 || changed,
      next === undefined ? undefined : Math.max(1, next - Date.now()),
    );
    changed = false;
    const isBounded = outbox.length > 0 && bounded();
    while (outbox.length > 0) {
      const batch = isBounded ? takeBatch(outbox) : outbox.splice(0, FORWARD_BATCH);
      const byRun = new Map<string, ExternalEvent[]>();
      for (const { to, event } of batch) byRun.set(to, [...(byRun.get(to) ?? []), event]);
      if (byRun.size < batch.length && patched(MAILBOX_ORDER_PATCH)) {
        await Promise.all([...byRun].map(([to, events]) => sendInOrder(to, events, waiting)));
      } else {
        await Promise.all(
          batch.map(({ to, event }) =>
            getExternalWorkflowHandle(to)
              .signal('event', event)
              // The run is gone (closed, or never existed): it waits for nothing any more.
              .catch(() => void waiting.delete(to)),
          ),
        );
      }
      // The rest waits for the next run of the mailbox when this one's history is full.
      if (isBounded && outbox.length > 0 && historyFull(true)) break;
    }
    const now = Date.now();
    let expired = 0;
    while (events[0] && events[0].expires_at <= now) {
      bytesKept -= (events.shift() as RetainedEvent).bytes;
      expired++;
    }
    if (expired > 0) weftEvents.expired('retention', expired);
    weftEvents.pending(events.length);
    if (events.length === 0 && waiting.size === 0 && outbox.length === 0) {
      await condition(allHandlersFinished);
      // A signal arriving with the completion makes Temporal retry this task with it, so none is lost.
      return;
    }
    if (outbox.length === 0 ? historyFull(false) : isBounded && historyFull(true)) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof eventMailbox>({
        ...args,
        resume: { events, waiting: [...waiting.entries()], ...carry(outbox, events) },
      });
    }
  }
}

/** Whether the mailbox should continue as new: by event count, Temporal's suggestion, and (bounded) its size. */
function historyFull(bounded: boolean): boolean {
  const info = workflowInfo();
  return (
    info.historyLength >= MAILBOX_CONTINUE_AFTER ||
    info.continueAsNewSuggested ||
    (bounded && info.historySize >= MAILBOX_HISTORY_BYTES)
  );
}

/** Sizes of events being sent, by identity (the same event goes to many runs). */
const eventSizes = new WeakMap<ExternalEvent, number>();
function eventBytes(event: ExternalEvent): number {
  let bytes = eventSizes.get(event);
  if (bytes === undefined) {
    bytes = utf8Length(JSON.stringify(event));
    eventSizes.set(event, bytes);
  }
  return bytes;
}

/** The next signals to send: at most FORWARD_BATCH of them and SEND_BATCH_BYTES of events (at least one). */
function takeBatch(outbox: { to: string; event: ExternalEvent }[]): { to: string; event: ExternalEvent }[] {
  let n = 0;
  let bytes = 0;
  while (n < outbox.length && n < FORWARD_BATCH) {
    const next = eventBytes((outbox[n] as { event: ExternalEvent }).event);
    if (n > 0 && bytes + next > SEND_BATCH_BYTES) break;
    bytes += next;
    n++;
  }
  return outbox.splice(0, n);
}

/** The unsent signals as continue-as-new carries them: events by index, runs in order ({} when none). */
function carry(
  outbox: { to: string; event: ExternalEvent }[],
  events: RetainedEvent[],
): { outbox?: [string, number[]][]; unkept?: ExternalEvent[] } {
  if (outbox.length === 0) return {};
  const index = new Map<ExternalEvent, number>(events.map((e, i) => [e.event, i]));
  const unkept: ExternalEvent[] = [];
  const runs: [string, number[]][] = [];
  for (const { to, event } of outbox) {
    let i = index.get(event);
    if (i === undefined) {
      i = events.length + unkept.length;
      unkept.push(event);
      index.set(event, i);
    }
    const last = runs[runs.length - 1];
    if (last && last[0] === to) last[1].push(i);
    else runs.push([to, [i]]);
  }
  return { outbox: runs, ...(unkept.length > 0 ? { unkept } : {}) };
}

/** Sends `events` to one run in order; stops (and forgets the run) once it is gone. */
async function sendInOrder(to: string, events: ExternalEvent[], waiting: Map<string, string>): Promise<void> {
  const run = getExternalWorkflowHandle(to);
  for (const event of events) {
    try {
      await run.signal('event', event);
    } catch {
      // The run is gone (closed, or never existed): it waits for nothing any more.
      waiting.delete(to);
      return;
    }
  }
}
