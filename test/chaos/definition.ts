/**
 * The definition every chaos run executes: an http task, a parallel split into two http tasks
 * and their join, a durable timer, an event wait and a final `set`. The HTTP target answers each
 * call from its query alone, so a retried call gets the same answer, and it counts the calls per
 * (run, step): what a kill made Temporal repeat (at-least-once) shows as duplicates.
 */
import type { ServerResponse } from 'node:http';
import { json, type RecordedRequest } from '../support/http-target.js';

export const EVENT_TYPE = 'chaos.paid';
/** The steps that call the HTTP target. */
export const CALL_STEPS = ['start', 'left', 'right'] as const;
/** How long the target takes to answer: long enough for kills to land while calls are in flight. */
const CALL_MS = 150;

export function chaosDefinition(id: string, targetUrl: string) {
  const call = (step: string, query: string) => ({
    id: step,
    type: 'task',
    connector: 'http',
    action: 'request',
    inputs: { url: `${targetUrl}/call?run={{ vars.key }}&step=${step}&${query}` },
    // Shorter than the default, so a call lost with its worker is retried soon.
    timeout: '10s',
    retry_policy: { max_attempts: 100, initial_interval: '500ms', max_interval: '2s' },
  });
  return {
    id,
    description: 'chaos harness: http, parallel split and join, timer, event wait, final set',
    variables: [
      { name: 'key', type: 'string', required: true },
      { name: 'n', type: 'number', required: true },
      { name: 'total', type: 'number' },
    ],
    nodes: [
      call('start', 'v={{ vars.n }}'),
      call('left', 'v={{ nodes.start.output.body.value }}'),
      call('right', 'v={{ nodes.start.output.body.value }}'),
      { id: 'both', type: 'join', mode: 'all' },
      { id: 'pause', type: 'wait', duration: '1s' },
      { id: 'paid', type: 'event', event_type: EVENT_TYPE, correlation_key: 'vars.key', timeout: '1h' },
      {
        id: 'final',
        type: 'set',
        assign: { total: 'nodes.left.output.body.value + nodes.right.output.body.value + nodes.paid.output.amount' },
      },
    ],
    edges: [
      { from: 'start', to: 'left' },
      { from: 'start', to: 'right' },
      { from: 'left', to: 'both' },
      { from: 'right', to: 'both' },
      { from: 'both', to: 'pause' },
      { from: 'pause', to: 'paid' },
      { from: 'paid', to: 'final' },
    ],
  };
}

/** What the target answers a step: `start` n+1, `left` twice and `right` three times its value. */
export function answerCall(req: RecordedRequest, res: ServerResponse): void {
  const v = Number(req.query.v);
  const value = req.query.step === 'start' ? v + 1 : req.query.step === 'left' ? v * 2 : v * 3;
  setTimeout(() => json(res, 200, { value }), CALL_MS);
}

/** The event's payload for the run of `n`. */
export const eventPayload = (n: number) => ({ amount: 7 * n });

/** The `total` a correct run of `n` ends with: (n+1)·2 + (n+1)·3 + 7n. */
export const expectedTotal = (n: number) => 5 * (n + 1) + 7 * n;
