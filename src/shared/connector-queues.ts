/**
 * Queues and worker pools: which task queue each connector's (and `ai`'s) activities run on
 * (`WEFT_CONNECTOR_QUEUES`), and which queues a worker process serves (`WEFT_WORKER_QUEUES`,
 * `npm run worker -- --queues`). Parsed once at start-up; every mistake names its entry.
 */

/** A connector (or `ai`) name → the task queue its activities are scheduled on. */
export type ConnectorQueues = Readonly<Record<string, string>>;

/**
 * What can be routed: the built-in connectors (`builtInConnectors`' `service_type`s, checked by
 * a unit test so the two lists cannot drift) and `ai`. Kept here rather than read off the
 * registry so the gateway's and `npm start`'s configuration does not load every connector driver.
 */
export const ROUTABLE = ['http', 'postgres', 'nats', 'redis', 'email', 'ai'] as const;

/** Temporal refuses longer task queue names; `/_sys/` is its own reserved prefix. */
const MAX_QUEUE_LENGTH = 1000;

/** Why `name` cannot be a task queue name, or undefined when it can. */
function queueProblem(name: string): string | undefined {
  if (name.length === 0) return 'expected a task queue name, got nothing';
  if (name.length > MAX_QUEUE_LENGTH) return `expected a task queue name of at most ${MAX_QUEUE_LENGTH} characters`;
  if (/\s/.test(name)) return `expected a task queue name without spaces, got "${name}"`;
  if (name.startsWith('/_sys/')) return `"${name}" starts with /_sys/, which Temporal reserves`;
  return undefined;
}

/** The comma-separated entries of a list variable, trimmed; empty entries (a trailing comma) are left out. */
function entries(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/**
 * `"postgres=weft-heavy,ai=weft-ai"` → `{ postgres: 'weft-heavy', ai: 'weft-ai' }`. Throws naming
 * the entry: not `<connector>=<queue>`, a connector that is not routable, a bad queue name, a
 * connector given twice. Empty or unset: no table (everything on the run's queue).
 */
export function parseConnectorQueues(text: string | undefined): ConnectorQueues | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const table: Record<string, string> = {};
  for (const entry of entries(text)) {
    const at = entry.indexOf('=');
    if (at < 0) throw new Error(`entry "${entry}": expected <connector>=<task queue>, such as postgres=weft-heavy`);
    const connector = entry.slice(0, at).trim();
    const queue = entry.slice(at + 1).trim();
    if (!(ROUTABLE as readonly string[]).includes(connector)) {
      throw new Error(`entry "${entry}": unknown connector "${connector}" (expected one of ${ROUTABLE.join(', ')})`);
    }
    const problem = queueProblem(queue);
    if (problem) throw new Error(`entry "${entry}": ${problem}`);
    if (Object.prototype.hasOwnProperty.call(table, connector)) {
      throw new Error(`entry "${entry}": ${connector} is routed twice (to ${table[connector]} and to ${queue})`);
    }
    table[connector] = queue;
  }
  return Object.keys(table).length === 0 ? undefined : table;
}

/** `"weft,weft-heavy"` → `['weft', 'weft-heavy']`; throws naming a bad or repeated queue, or an empty list. */
export function parseWorkerQueues(text: string): string[] {
  const queues = entries(text);
  if (queues.length === 0) throw new Error('expected a comma-separated list of task queues, such as weft,weft-heavy');
  const seen = new Set<string>();
  for (const queue of queues) {
    const problem = queueProblem(queue);
    if (problem) throw new Error(`entry "${queue}": ${problem}`);
    if (seen.has(queue)) throw new Error(`entry "${queue}": listed twice`);
    seen.add(queue);
  }
  return queues;
}

/**
 * The queues a worker serves: the ones it was given, else everything (the main queue and every
 * queue the table routes to), so `npm start` and a lone `npm run worker` serve routed calls too.
 */
export function servedQueues(
  mainQueue: string,
  table: ConnectorQueues | undefined,
  given: readonly string[] | undefined,
): string[] {
  if (given) return [...given];
  return [...new Set([mainQueue, ...Object.values(table ?? {})])];
}

/**
 * The table a run starts with. Runs on the gateway's own placement (its namespace and task queue)
 * get it as configured. A tenant placed on its own namespace or task queue gets none: every
 * activity of its runs stays on its queue, served by its own workers, because that placement is
 * how an operator keeps a tenant's work apart (a shared pool would undo it), and a pool queue of
 * the gateway's namespace cannot be reached from another namespace at all.
 */
export function runConnectorQueues(
  table: ConnectorQueues | undefined,
  main: { namespace: string; taskQueue: string },
  tenant: { namespace: string; taskQueue: string },
): ConnectorQueues | undefined {
  if (!table) return undefined;
  return tenant.namespace === main.namespace && tenant.taskQueue === main.taskQueue ? table : undefined;
}
