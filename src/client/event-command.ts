/** `weft emit`: send an event to the runs waiting for it (`POST /v1/events`). */
import { jsonArgument } from './arguments.js';
import { arg, stringOption, type Command } from './command.js';
import type { EventBody } from './gateway-client.js';

export const emitCommand: Command = {
  name: 'emit',
  args: '<event-type>',
  summary: 'send an event to waiting event nodes and event triggers',
  details: [
    'The event is kept (24 h) by the mailbox of its type and key, which hands it to every run waiting',
    'for it now or later; definitions with a matching event trigger start runs. Prints the event id',
    '(resend with --id to retry safely), the runs it was handed to so far, and the runs started.',
  ].join('\n'),
  options: {
    key: { type: 'string', value: 'K', description: 'the correlation key' },
    payload: { type: 'string', value: 'JSON', description: 'the event payload (default {})' },
    id: { type: 'string', value: 'EVENT_ID', description: 'an event id, so a resend is not delivered twice' },
  },
  arity: [1, 1],
  async run(context) {
    const key = stringOption(context, 'key');
    const payload = stringOption(context, 'payload');
    const id = stringOption(context, 'id');
    const event: EventBody = {
      event_type: arg(context, 0),
      payload: payload === undefined ? {} : jsonArgument('--payload', payload),
      ...(key === undefined ? {} : { correlation_key: key }),
      ...(id === undefined ? {} : { event_id: id }),
    };
    context.out.answer(await context.client.emit(event), (delivery) => {
      const groups: Array<[string, string[]]> = [
        ['delivered to', delivery.delivered_to ?? []],
        ['started', delivery.started ?? []],
      ];
      const lines = groups.filter(([, ids]) => ids.length > 0).map(([label, ids]) => `${label}: ${ids.join(', ')}`);
      return [`accepted: ${delivery.event_id}`, ...lines];
    });
    return undefined;
  },
};
