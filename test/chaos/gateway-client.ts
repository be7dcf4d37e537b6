import { pause } from '../support/poll.js';
/**
 * The harness's client of the gateways: requests go round-robin over them, and one that gets no
 * answer (connection refused or reset, a gateway killed mid-request, a timeout) or a 429/5xx is
 * sent again, unchanged, to the next gateway until its deadline. Only idempotent requests are
 * sent this way: a start carries its `run_id` and an event its `event_id`, so a start or event
 * the gateway accepted before it died is recognised on the retry, never doubled.
 */

export interface Answer {
  status: number;
  body: any;
}

export class GatewayClient {
  private next = 0;
  /** Why requests were sent again: no answer at all, 429, or a 5xx. */
  readonly resent = { unanswered: 0, limited: 0, serverErrors: 0 };

  constructor(private readonly gateways: string[]) {
    if (gateways.length === 0) throw new Error('the target has no gateways');
  }

  /** Sends until a final answer (anything but 429/5xx) or `deadline` (epoch ms); undefined = none in time. */
  async send(
    method: string,
    path: string,
    body: unknown,
    deadline: number,
    timeoutMs = 30_000,
  ): Promise<Answer | undefined> {
    let backoff = 200;
    for (;;) {
      const base = this.gateways[this.next++ % this.gateways.length] as string;
      try {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(Math.max(1_000, Math.min(timeoutMs, deadline - Date.now()))),
        });
        const text = await response.text();
        const answer = { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
        if (answer.status !== 429 && answer.status < 500) return answer;
        if (answer.status === 429) this.resent.limited++;
        else this.resent.serverErrors++;
      } catch {
        // No answer: the same request goes to the next gateway.
        this.resent.unanswered++;
      }
      if (Date.now() + backoff > deadline) return undefined;
      await pause(backoff, 'backoff before the request is sent again');
      backoff = Math.min(backoff * 2, 2_000);
    }
  }
}
