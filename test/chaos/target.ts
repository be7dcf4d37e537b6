/**
 * What the chaos harness runs against: the processes of a weft deployment it may kill and
 * restart, where Temporal and the gateways are, and the PostgreSQL databases whose backends it
 * may terminate. The same shape as `Cluster` of `src/cluster/cluster.ts` (the PostgreSQL-backed
 * multi-process cluster), with one more role: the single-process Temporal dev server.
 */

export type ProcessRole =
  'dev-server' | 'frontend' | 'history' | 'matching' | 'internal-worker' | 'worker' | 'gateway' | 'ui';

export interface ManagedProcess {
  role: ProcessRole;
  name: string;
  pid(): number | undefined;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** (Re)start, and wait until it is ready. */
  start(): Promise<void>;
}

export interface ChaosTarget {
  temporalAddress: string;
  namespace: string;
  /** Base URLs of the gateways (`http://127.0.0.1:<port>`). */
  gateways: string[];
  processes: ManagedProcess[];
  /** `databases`: the ones whose backends the `postgres` fault terminates. */
  postgres: { connectionString: string; databases: string[] };
  close(): Promise<void>;
}
