/** `weft emit`: send an event to the runs waiting for it (`POST /v1/events`). */
import { jsonArgument } from './arguments.js';
import { arg, stringOption, type Command } from './command.js';
import type { EventBody } from './gateway-client.js';

export const emitCommand: Command = {
  name: 'emit',
  args: '<event-type>',
  summary: 'send an event to waiting event nodes and event triggers',
  details: [
    'Runs whose event node waits for it take it; runs that will wait for it keep it until then;',
    'definitions with a matching event trigger start runs. An --id seen before is not taken twice.',
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
      return lines.length > 0 ? lines : `accepted as ${delivery.event_id}; no run waits for it yet`;
    });
    return undefined;
  },
};
