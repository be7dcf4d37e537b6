/** The workflow bundle's entry point: the one generic interpreter workflow and its messages. */
export {
  interpret,
  stateQuery,
  rawStateQuery,
  eventSignal,
  deliverEventUpdate,
  controlUpdate,
  type InterpretArgs,
  type ControlResult,
} from './interpret.js';
export { eventMailbox, type MailboxArgs } from './event-mailbox.js';
export { permitLimiter, type LimiterArgs } from './limiter.js';
export { debouncer, type DebouncerArgs } from './debounce.js';
