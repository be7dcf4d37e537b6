/**
 * A definition's `schedule` triggers as Temporal Schedules, owned by its *active* version: after
 * a version becomes active the schedules are made to match it — created, updated in place, or
 * deleted when the active version no longer has that trigger. Temporal then starts the runs
 * itself (no gateway needed), with the same options as a start through the gateway.
 *
 * Schedule ids are `weft-<definition id>-<index in triggers>`.
 */
import type { RunQuotas } from '../../interpreter/quotas.js';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
  type Workflow,
} from '@temporalio/client';
import type { Definition, VersionedDefinition } from '../../interpreter/definition-schema.js';
import type { Logger } from '../logger.js';
import type { DefinitionStore } from '../store/definition-store.js';
import { DefinitionIdKey, DefinitionVersionKey } from '../shared/search-attributes.js';
import { validationFailed } from '../shared/http-error.js';
import { mapTemporalError, WORKFLOW_TYPE, type RunService } from './run-service.js';

type ScheduleTrigger = Extract<Definition['triggers'][number], { type: 'schedule' }>;

export function scheduleId(definitionId: string, index: number): string {
  return `weft-${definitionId}-${index}`;
}

export interface ScheduleSyncDeps {
  client: Client;
  /** The tenant's definitions. */
  store: Pick<DefinitionStore, 'get' | 'versions'>;
  /** The tenant's runs: schedules start runs the way the gateway does. */
  runs: RunService;
  logger: Logger;
}

export class ScheduleSync {
  /** One reconciliation at a time per definition, so two activations cannot interleave. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly deps: ScheduleSyncDeps) {}

  /**
   * Makes the Temporal Schedules of definition `id` match its active version. Idempotent: a
   * request that failed half-way (Temporal down) is repaired by repeating it.
   */
  sync(id: string): Promise<void> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous.then(
      () => this.reconcile(id),
      () => this.reconcile(id),
    );
    this.chains.set(id, next);
    const forget = () => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    };
    next.then(forget, forget);
    return next;
  }

  private async reconcile(id: string): Promise<void> {
    const active = await this.deps.store.get(id);
    if (!active) return;
    const wanted = new Map<number, ScheduleTrigger>();
    active.triggers.forEach((trigger, i) => {
      if (trigger.type === 'schedule') wanted.set(i, trigger);
    });
    // Any index a version ever had a schedule trigger at may hold a schedule of an older activation.
    const bound = await this.scheduleIndexBound(id);
    try {
      for (const [index, trigger] of wanted) await this.upsert(active, index, trigger);
      for (let index = 0; index < bound; index++) {
        if (!wanted.has(index)) await this.remove(this.scheduleId(id, index));
      }
    } catch (err) {
      mapTemporalError(err);
    }
  }

  /**
   * One past the highest trigger index any version of `id` has a schedule at. Definitions that
   * never had a schedule trigger answer 0, so their submits make no Temporal calls at all.
   */
  private async scheduleIndexBound(id: string): Promise<number> {
    const versions = (await this.deps.store.versions(id)) ?? [];
    let bound = 0;
    for (const { version } of versions) {
      const triggers = (await this.deps.store.get(id, version))?.triggers ?? [];
      triggers.forEach((trigger, i) => {
        if (trigger.type === 'schedule') bound = Math.max(bound, i + 1);
      });
    }
    return bound;
  }

  /** Schedule ids, like workflow ids, carry the tenant so tenants cannot collide. */
  private scheduleId(definitionId: string, index: number): string {
    return scheduleId(this.deps.runs.ids.workflowId(definitionId), index);
  }

  private options(
    definition: VersionedDefinition,
    index: number,
    trigger: ScheduleTrigger,
    quotas: RunQuotas | undefined,
  ): ScheduleUpdateOptions {
    const action: ScheduleOptionsStartWorkflowAction<Workflow> = {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPE,
      // Temporal appends the scheduled time, so each run gets its own id.
      workflowId: this.deps.runs.ids.workflowId(`${definition.id}-schedule-${index}`),
      // The tenant's quotas as they are when the schedule is written (again at each activation).
      ...this.deps.runs.workflowOptions(definition, trigger.input ?? {}, {}, quotas),
    };
    return {
      spec: {
        cronExpressions: [trigger.cron],
        ...(trigger.timezone === undefined ? {} : { timezone: trigger.timezone }),
      },
      action,
      // A run still going when the next is due is left alone: schedules never pile up runs.
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { note: `${definition.id} v${definition.version}, /triggers/${index}` },
      typedSearchAttributes: [
        { key: DefinitionIdKey, value: definition.id },
        { key: DefinitionVersionKey, value: definition.version },
        this.deps.runs.ids.searchAttribute,
      ],
    };
  }

  private async upsert(definition: VersionedDefinition, index: number, trigger: ScheduleTrigger): Promise<void> {
    const id = this.scheduleId(definition.id, index);
    const options = this.options(definition, index, trigger, await this.deps.runs.runQuotas());
    try {
      try {
        await this.deps.client.schedule.create({ scheduleId: id, ...options });
        this.deps.logger.info({ schedule: id, version: definition.version }, 'schedule created');
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        await this.deps.client.schedule.getHandle(id).update(() => options);
        this.deps.logger.info({ schedule: id, version: definition.version }, 'schedule updated');
      }
    } catch (err) {
      // The cron was checked at submit; if Temporal still refuses it, say where, not 500.
      const code =
        (err as { cause?: { code?: unknown }; code?: unknown }).cause?.code ?? (err as { code?: unknown }).code;
      if (err instanceof TypeError || code === 3) {
        throw validationFailed(
          [{ path: `/triggers/${index}/cron`, message: `Temporal refused the schedule: ${(err as Error).message}` }],
          `version ${definition.version} is stored and active, but its schedule could not be created`,
        );
      }
      throw err;
    }
  }

  private async remove(id: string): Promise<void> {
    try {
      await this.deps.client.schedule.getHandle(id).delete();
      this.deps.logger.info({ schedule: id }, 'schedule deleted');
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
}
