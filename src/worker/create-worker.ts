/**
 * Builds a worker that runs the generic workflow and the connector activities. The workflow
 * code is the bundle `npm run build` made (`workflow-bundles.ts`); a bundle made at start (custom
 * entry points, or no current prebuilt one) is made once per process and shared by its workers.
 */
import {
  DefaultLogger,
  NativeConnection,
  ResourceBasedController,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type TunerHolder,
  type LogLevel,
  type TLSConfig,
  type WorkflowBundle,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { createDefinitionActivities } from '../../activities/definitions.js';
import { createEventActivities } from '../../activities/event-mailbox.js';
import { createLimiterActivities } from '../../activities/limiter.js';
import { processMemoryBudget, type MemoryBudget } from '../../activities/memory-budget.js';
import { DEFAULT_WORKER_TARGETS } from '../config.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { Logger } from '../logger.js';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { workerTracing } from '../telemetry/temporal-tracing.js';
import {
  eventSinks,
  flowSinks,
  metricsInterceptor,
  quotaSinks,
  type WorkerMetrics,
} from '../metrics/worker-metrics.js';
import { encryptingDataConverter } from '../codec/data-converter.js';
import {
  DEFAULT_BUNDLE_DIR,
  WORKFLOWS_PATH,
  bundleOptions,
  prebuiltBundle,
  variantName,
  type BundleVariant,
} from './workflow-bundles.js';

export { WORKFLOWS_PATH };

const bundles = new Map<string, Promise<WorkflowBundle>>();
let runtimeInstalled = false;

/**
 * The SDK logs every worker state change at INFO; we keep its WARN and above unless asked.
 * `sdkMetricsPort`: the SDK's own Prometheus exporter (the backlog as the worker sees it:
 * `temporal_workflow_task_schedule_to_start_latency`, `temporal_activity_schedule_to_start_latency`,
 * slots and polls) on `0.0.0.0:<port>`. The runtime is per process: the first call decides.
 */
export function installRuntime(options: { sdkMetricsPort?: number } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level),
    ...(options.sdkMetricsPort === undefined
      ? {}
      : { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${options.sdkMetricsPort}` } } } }),
  });
}

/**
 * The SDK stops a workflow activation that runs past `isolateExecutionTimeout` (5 s of wall-clock
 * time, an option the SDK reads but does not type) — and on Node that stop crashes the whole
 * worker process ("async hook stack has become corrupted", nodejs/node#38503), again on every
 * restart while the run is retried. The engine bounds the work of one activation by counted
 * slices (up to 0.3 s measured in the sandbox of a 2-core machine at a load average of 2.7, for
 * the 1,000-item map; SECURITY.md), so only an overloaded host gets near 5 s; there the limit
 * would turn slowness into a crash loop. Thirty seconds keeps it a backstop: past the
 * server's 10 s task timeout a slow activation is timed out and retried by Temporal instead.
 */
const SANDBOX_BACKSTOP = { isolateExecutionTimeout: '30s' } as object;

/**
 * Workflow tasks the worker works on at once (`WEFT_WORKER_WORKFLOW_TASKS`). Every activation runs
 * on the worker's one workflow thread, and JSONata's evaluator awaits at each step, so activations
 * in flight interleave: each one's wall time is about the sum of all of them. With the SDK's
 * default of 40, forty sliced evaluations (each up to about 200 ms of sandbox time on a loaded
 * host) took 10–28 s apiece, past the server's 10 s task timeout; Temporal then timed them all out
 * and retried them, and runs stopped making progress (measured in the hostile-expression suite).
 * Four keeps the sum well inside the timeout; tasks beyond it wait on the server, where waiting
 * costs nothing.
 */
export const DEFAULT_WORKFLOW_TASKS = 4;

/**
 * How long a task waits on this worker's sticky queue before the server hands it to any worker
 * (the SDK's default is 10 s). Given to another worker — or back to this one after the wait — the
 * run is replayed from its whole history, and a run of many evaluation slices then redoes all of
 * them in one task: on a busy worker that costs more than the waiting it was meant to save
 * (measured: heavy runs fell back at every task once the queue was 10 s deep). After a crash, a
 * task added once the worker has stopped polling goes straight to the normal queue (the server
 * checks for a recent poller, temporalio/temporal#2811); one already waiting here waits out the 30 s.
 */
const STICKY_WAIT = '30s';
/** How often a heartbeating activity's heartbeats reach Temporal (and a cancellation reaches it back). */
const HEARTBEAT_THROTTLE = '2s';

/** The resource-based tuner's targets: fractions (0–1] of the host's memory and CPU. */
export interface ResourceTargets {
  memory: number;
  cpu: number;
}

/**
 * Activity slots the tuner hands out whatever the host's load (`WEFT_WORKER_ACTIVITY_SLOTS_MIN`):
 * the worker's fixed number before the tuner (the SDK's default of 100). The tuner measures the
 * whole host, so on a busy one the SDK's own floor of 1 lets a worker run one connector call at a
 * time (seen on a 2-core machine running the suite beside another job: the memory-budget test's
 * second held call never started), and calls that wait on a slow service, using neither CPU nor
 * memory, queue behind each other. With this floor the
 * targets decide how far past 100 (up to the SDK's 2000) a worker goes.
 */
export const DEFAULT_ACTIVITY_SLOTS_MIN = 100;

/** One controller per target pair in the process, so every worker of the process aims at one shared target. */
const controllers = new Map<string, ResourceBasedController>();

/**
 * Activity slots are handed out by the SDK's resource-based tuner: past the floor
 * ({@link DEFAULT_ACTIVITY_SLOTS_MIN}), a new connector or AI call is polled for only while the
 * host's memory and CPU use are under the targets. Workflow tasks stay at a fixed number ({@link DEFAULT_WORKFLOW_TASKS}: more would only
 * interleave on the one workflow thread, SECURITY.md); the SDK mixes fixed and resource-based
 * suppliers in one tuner. Local activities (`execution: "local"`) get a fixed number of slots,
 * the same floor as activities: they wait on I/O like connector calls, and a local call that finds
 * no slot waits in the worker while its workflow task stays open. Weft runs no Nexus tasks.
 */
function workerTuner(targets: ResourceTargets, workflowTasks: number, activitySlotsMin: number): TunerHolder {
  const id = `${targets.memory}/${targets.cpu}`;
  let controller = controllers.get(id);
  if (!controller) {
    controller = ResourceBasedController.create({ targetMemoryUsage: targets.memory, targetCpuUsage: targets.cpu });
    controllers.set(id, controller);
  }
  return {
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: workflowTasks },
    activityTaskSlotSupplier: { type: 'resource-based', controller, minimumSlots: activitySlotsMin },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: activitySlotsMin },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
  };
}

/** Where a worker's workflow code came from: the prebuilt file, or bundled at start (and why). */
export type BundleSource = { prebuilt: string } | { bundled: string };

const PLAIN: BundleVariant = { traced: false, encodedFailures: false };

const warnOnStderr = (reason: string) => process.stderr.write(`weft worker: ${reason}; bundling the workflow code\n`);

/**
 * The workflow code for an entry point and variant: the prebuilt bundle (`npm run build`) for the
 * production entry point when it is current, else bundled here once per process: custom entry
 * points (tests, benchmarks) quietly, a missing or stale prebuilt bundle after `warn`ing why.
 */
export async function workflowBundle(
  workflowsPath = WORKFLOWS_PATH,
  variant = PLAIN,
  bundleDir = DEFAULT_BUNDLE_DIR,
  warn: (reason: string) => void = warnOnStderr,
): Promise<{ bundle: WorkflowBundleOption; source: BundleSource }> {
  let reason = `custom entry point ${workflowsPath}`;
  if (workflowsPath === WORKFLOWS_PATH) {
    const prebuilt = await prebuiltBundle(variant, bundleDir);
    if ('codePath' in prebuilt) return { bundle: prebuilt, source: { prebuilt: prebuilt.codePath } };
    reason = prebuilt.reason;
    warn(reason);
  }
  const key = `${workflowsPath} (${variantName(variant)})`;
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode(bundleOptions(workflowsPath, variant));
    bundles.set(key, bundle);
  }
  return { bundle: await bundle, source: { bundled: reason } };
}

export interface WorkerOptions {
  address: string;
  /** TLS (mTLS with a client certificate) to the frontend (`TEMPORAL_TLS*`); absent: plaintext. */
  tls?: TLSConfig;
  namespace: string;
  taskQueue: string;
  registry?: ConnectorRegistry;
  /** The workflow entry point; defaults to `workflows/index.ts`. */
  workflowsPath?: string;
  /** Secrets and AI settings for the activities; default from the environment. */
  activityDeps?: Omit<ActivityDeps, 'registry'>;
  /** Where `subworkflow` nodes load their definitions from. */
  definitions?: Pick<DefinitionStore, 'get'>;
  /** Where activity durations, retries and AI usage are recorded; without it nothing is. */
  metrics?: WorkerMetrics;
  /** Trace workflows and activities into this started OpenTelemetry SDK (`startTelemetry`). */
  tracing?: Telemetry;
  /** Encrypts payloads and failure messages (`WEFT_CODEC_KEYS`); without it they are stored in clear. */
  codec?: PayloadCodec;
  /** Workflow tasks worked on at once; default {@link DEFAULT_WORKFLOW_TASKS}. */
  workflowTasks?: number;
  /**
   * Runs kept in the worker's cache (the SDK's `maxCachedWorkflows`); default the SDK's. `0`
   * replays every run from its history at every workflow task: what a worker that lost its cache does.
   */
  cachedWorkflows?: number;
  /** The tuner's targets for activity slots (`WEFT_WORKER_MEMORY_TARGET`, `WEFT_WORKER_CPU_TARGET`); default 0.8 memory, 0.9 CPU. */
  resourceTargets?: ResourceTargets;
  /** Activity slots the tuner hands out whatever the load; default {@link DEFAULT_ACTIVITY_SLOTS_MIN}. */
  activitySlotsMin?: number;
  /** What `resource_limits.memory_mb` reserves against; default the process's budget of half the host's memory (`WEFT_WORKER_MEMORY_MB`). */
  memoryBudget?: MemoryBudget;
  /** Where the prebuilt bundles of the production entry point are; default `dist/workflow-bundles` (`npm run build`). */
  bundleDir?: string;
  /** Says where the workflow code came from (and, at `warn`, why it is bundled at start); default: warnings on stderr. */
  logger?: Pick<Logger, 'info' | 'warn'>;
  /**
   * Serves only activities on `taskQueue` (a worker pool's queue, `WEFT_CONNECTOR_QUEUES`): no
   * workflow code is loaded and no workflow task is polled for.
   */
  activitiesOnly?: boolean;
}

/** A worker without a store can run everything but `subworkflow` nodes. */
const noDefinitions: Pick<DefinitionStore, 'get'> = { get: () => Promise.resolve(undefined) };

export interface RunningWorker {
  worker: Worker;
  connection: NativeConnection;
  registry: ConnectorRegistry;
  /** Shuts the worker down, waits for it, closes connector pools and the connection. */
  shutdown(): Promise<void>;
  /** Resolves when the worker stopped (after `shutdown` or a fatal error). */
  done: Promise<void>;
  /** Where its workflow code came from; absent for an activity-only worker. */
  bundle?: BundleSource;
}

/** The worker's workflow code, logged: which prebuilt file, or why it is bundled at start. */
async function workerBundle(options: WorkerOptions): Promise<{ bundle: WorkflowBundleOption; source: BundleSource }> {
  const variant = { traced: options.tracing !== undefined, encodedFailures: options.codec !== undefined };
  const logger = options.logger;
  const warn = logger ? (reason: string) => logger.warn({ reason }, 'bundling the workflow code at start') : undefined;
  const resolved = await workflowBundle(options.workflowsPath, variant, options.bundleDir, warn);
  if ('prebuilt' in resolved.source) logger?.info({ bundle: resolved.source.prebuilt }, 'prebuilt workflow bundle');
  return resolved;
}

/** Creates and starts a worker; `done` settles when it stops. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  installRuntime();
  const workflows = options.activitiesOnly ? undefined : await workerBundle(options);
  const connection = await NativeConnection.connect({ address: options.address, tls: options.tls });
  const registry = options.registry ?? new ConnectorRegistry();
  const tracing = options.tracing ? workerTracing(options.tracing) : undefined;
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(workflows ? { workflowBundle: workflows.bundle } : {}),
    ...(options.codec ? { dataConverter: encryptingDataConverter(options.codec) } : {}),
    activities: {
      ...createActivities({
        codec: options.codec,
        memory: options.memoryBudget ?? processMemoryBudget(),
        ...options.activityDeps,
        registry,
      }),
      ...createDefinitionActivities(options.definitions ?? noDefinitions),
      ...createEventActivities(),
      ...createLimiterActivities(),
    },
    // The workflow interceptors are in the bundle (its traced variant): the SDK takes none here.
    interceptors: {
      activity: [...(tracing?.activity ?? []), ...(options.metrics ? [metricsInterceptor(options.metrics)] : [])],
    },
    sinks: {
      ...(tracing?.sinks ?? {}),
      ...quotaSinks(options.metrics),
      ...eventSinks(options.metrics),
      ...flowSinks(options.metrics),
    },
    ...SANDBOX_BACKSTOP,
    tuner: workerTuner(
      options.resourceTargets ?? DEFAULT_WORKER_TARGETS,
      options.workflowTasks ?? DEFAULT_WORKFLOW_TASKS,
      options.activitySlotsMin ?? DEFAULT_ACTIVITY_SLOTS_MIN,
    ),
    ...(options.cachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.cachedWorkflows }),
    stickyQueueScheduleToStartTimeout: STICKY_WAIT,
    // Connector calls heartbeat while they run (activities/index.ts) so a cancellation (an
    // operator's skip of the running node) reaches them within seconds, not the SDK's 30 s.
    defaultHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
  });
  const done = worker.run().finally(async () => {
    await registry.close();
    await connection.close();
  });
  return {
    worker,
    connection,
    registry,
    done,
    ...(workflows ? { bundle: workflows.source } : {}),
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
