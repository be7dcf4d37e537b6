/**
 * What the chaos harness runs against: the processes of a weft deployment it may kill and
 * restart, where Temporal and the gateways are, and the PostgreSQL databases whose backends it
 * may terminate. The same shape as `Cluster` of `src/cluster/cluster.ts` (the PostgreSQL-backed
 * multi-process cluster), with one more role: the single-process Temporal dev server.
 */

import type { Cluster, ManagedProcess as ClusterProcess } from '../../src/cluster/cluster.js';

export type ProcessRole = 'dev-server' | ClusterProcess['role'];

/** A cluster process, or the dev server. */
export interface ManagedProcess extends Omit<ClusterProcess, 'role'> {
  role: ProcessRole;
}

/** The cluster's shape with the dev server's role allowed among its processes. */
export type ChaosTarget = Omit<Cluster, 'processes' | 'uiUrl' | 'logDir'> & { processes: ManagedProcess[] };
