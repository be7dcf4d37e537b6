/**
 * The rule for identifiers that become part of a Temporal workflow id or a store key: run ids
 * (chosen by callers, they are also the idempotency key of a start), event ids (they make the
 * run id of a run an event starts) and the like. Like definition ids (`DEFINITION_ID_PATTERN`)
 * they never contain "/": a workflow id is `<tenant>/<run id>`, and the tenant a run's
 * activities act for is read back as the part before the first "/", so an id with a "/" could
 * name another tenant's run or make a run act for another tenant.
 */
import { z } from 'zod';

const ID_CHARACTERS = 'letters, digits, ".", "_", ":", "-", starting with a letter or digit';

/** A run id: 1-200 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
export const RUN_ID_MESSAGE = `expected 1-200 characters: ${ID_CHARACTERS}`;
export const RunId = z.string().regex(RUN_ID_PATTERN, RUN_ID_MESSAGE);

/**
 * An event id: 1-128 characters, so the run id an event trigger makes of it
 * (`<definition id>-event-<event id>`, a definition id has at most 64) is still a run id.
 */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const EventId = z.string().regex(EVENT_ID_PATTERN, `expected 1-128 characters: ${ID_CHARACTERS}`);
