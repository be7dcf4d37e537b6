/**
 * NATS as the event bus: events published on a JetStream subject enter the same path as
 * `POST /v1/events`. A durable consumer acknowledges a message only once it was delivered, so
 * a crash of the gateway loses no event; an event without `event_id` gets one from its stream
 * sequence, so a redelivery is recognised by the runs and starts no second run.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ExternalEvent } from '../../interpreter/commands.js';
import type { Logger } from '../logger.js';
import { EventBody } from './control-routes.js';

export interface NatsEventsOptions {
  servers: string;
  subject: string;
  /** The JetStream stream that keeps the subject's messages (created when missing). */
  stream?: string;
  /** The durable consumer's name: gateways sharing it share the work. */
  durable?: string;
  deliver: (event: ExternalEvent) => Promise<unknown>;
  logger: Logger;
}

export interface NatsEvents {
  close(): Promise<void>;
}

export async function startNatsEvents(options: NatsEventsOptions): Promise<NatsEvents> {
  const stream = options.stream ?? 'WEFT_EVENTS';
  const durable = options.durable ?? 'weft-gateway';
  const nc: NatsConnection = await connect({ servers: options.servers.split(',') });
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(stream);
  } catch {
    await jsm.streams.add({ name: stream, subjects: [options.subject] });
  }
  try {
    await jsm.consumers.info(stream, durable);
  } catch {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: options.subject,
    });
  }
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  const messages: ConsumerMessages = await consumer.consume();
  const loop = (async () => {
    for await (const message of messages) {
      let parsed;
      try {
        parsed = EventBody.safeParse(message.json());
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success) {
        options.logger.warn({ subject: message.subject, seq: message.seq }, 'dropped a malformed event from NATS');
        message.term();
        continue;
      }
      const event: ExternalEvent = { event_id: `nats-${stream}-${message.seq}`, ...parsed.data };
      try {
        await options.deliver(event);
        message.ack();
      } catch (err) {
        options.logger.warn({ err, seq: message.seq }, 'event delivery failed; NATS will redeliver it');
        message.nak(5_000);
      }
    }
  })();
  options.logger.info({ subject: options.subject, stream, durable }, 'consuming events from NATS');
  return {
    async close() {
      await messages.close();
      await loop.catch(() => undefined);
      await nc.drain();
    },
  };
}
