/**
 * What a node type is made of (NodeModule), and what the engine hands a node type when it runs
 * one of its nodes (Step). A node module imports no engine code: the engine supplies the state
 * mutations through Step, so the registry sits below the engine, validator and lineage without
 * an import cycle (lineage and the state operations dispatch through it).
 */
import type { z } from 'zod';
import type { Command, ExternalEvent } from '../commands.js';
import type { Node, NodeOf, NodeType } from '../definition-schema.js';
import type { Problem } from '../problems.js';
import type { Refusal } from '../quotas.js';
import type { Arrival, NodeError, NodeRecord, NodeStatus, RunError, RunState, RunStateView } from '../run-state.js';
import type { Program } from '../state-ops.js';

/** The connectors and actions the worker offers, by name; injected by the caller. */
export type ConnectorCatalog = Readonly<Record<string, readonly string[]>>;

/**
 * Checks a task's inputs against its action's params schema as far as they are known at submit
 * time (literal values; templates are only known at run time). Paths are relative to `inputs`.
 */
export type ParamsCheck = (connector: string, action: string, inputs: Record<string, unknown>) => Problem[];

/** What a node type's static checks get besides the node: the catalog, and the checks of any node (a map's body). */
export interface Checks {
  catalog?: ConnectorCatalog;
  checkParams?: ParamsCheck;
  /** The checks of a node of any type, at `at` (a map body gets exactly those of a node of its type). */
  node(node: Node, at: string): Problem[];
}

/** One expression of a node: its JSON Pointer, its source, whether in a map body (`item` in scope), whether an event filter. */
export type NodeExpression = [path: string, source: string, item: boolean, eventFilter: boolean];

/** A run state view's node, as recorded mocks read it. */
export type NodeView = RunStateView['nodes'][string];
/** A mock as `MockEntry` (definition tests) takes it. */
export type RecordedMock = Record<string, unknown>;

/** A synchronous activation's result: the arrivals that follow, or a request to compute them asynchronously. */
export type SyncResult = { arrivals: Arrival[] } | { leave: true };

/**
 * One activation of one node, with the operations on the run state the engine supplies. Every
 * operation acts on `node` in `state` at `now` and appends to `commands`, exactly as the engine's
 * own functions of the same name (engine.ts, state-ops.ts, flow.ts, failures.ts).
 */
export interface Step<T extends NodeType = NodeType> {
  readonly program: Program;
  readonly state: RunState;
  readonly node: NodeOf<T>;
  /** The output of a join (what its incoming branches delivered); undefined for other nodes. */
  readonly joinOutput: Record<string, unknown> | undefined;
  readonly now: string;
  readonly commands: Command[];
  /** The expression context (vars, input, nodes, error, run and `extra`). */
  context(extra?: Record<string, unknown>): Record<string, unknown>;
  /** The node's record in the run state. */
  record(): NodeRecord;
  /** A new execution key for the node. */
  newExec(): string;
  transition(status: NodeStatus, note?: string): void;
  /** Why completing with `output` (and writing `vars`) would take the state over `state_bytes`, or undefined. */
  refused(output: unknown, vars?: Record<string, unknown>): NodeError | undefined;
  /** Fails the node with StateTooLarge (error edges and handlers apply). */
  failState(error: NodeError): Promise<Arrival[]>;
  /** Fails the node with QuotaExceeded (error edges and handlers apply). */
  failQuota(refusal: Refusal): Promise<Arrival[]>;
  /** Completes the node with `output` (its `output` variable written, with its lineage). */
  complete(output: unknown, extra?: { note?: string }): void;
  /** Records the node's write of variable `name`, computed from `inputs`. */
  recordWrite(name: string, inputs: string[]): void;
  /** Follows the node's success edges. */
  leave(): Promise<Arrival[]>;
  /** Follows the node's success edges without a promise, when their conditions allow. */
  leaveNow(): SyncResult;
  /** Closes the run. */
  close(status: 'completed', result: unknown): void;
  close(status: 'failed', error: RunError): void;
  /** The run's result without an end node's own `result`: `options.result`, or the variables. */
  runResult(): Promise<unknown>;
  /** Starts the node's work (a task, ai or subworkflow call): budget, quota, the call's command. */
  startWork(): Promise<Arrival[]>;
  /** Starts a map's items while there is room; returns their commands. */
  fillMap(exec: string): Promise<Command[]>;
  /** Whether a buffered external event satisfies the wait. */
  eventMatches(
    wait: { event_type: string; correlation_key: unknown; filters?: string },
    event: ExternalEvent,
  ): Promise<boolean>;
}

/** Everything specific to one node type. The schema is the single source of the served JSON Schema. */
export interface NodeModule<T extends NodeType = NodeType> {
  readonly type: T;
  /** The node's zod schema (definition-schema.ts, which builds the definition's union from it). */
  readonly schema: z.ZodType;
  /** Static checks at submit beyond the schema: expression syntax, templates, field combinations. */
  problems(node: NodeOf<T>, at: string, checks: Checks): Problem[];
  /** Every expression of the node evaluated in the run's context, with where it stands. */
  expressions(node: NodeOf<T>, at: string): NodeExpression[];
  /** What the node's output is computed from (lineage): static references, or `event:<type>`. */
  inputs(node: NodeOf<T>): string[];
  /** The expressions that compute the node's output (taint), and per set-node assignment. */
  taintSources(node: NodeOf<T>): { all: string[]; assign?: Record<string, string> };
  /** The node's recorded outcome as a definition test's mock; undefined when there is nothing to replay. */
  mock(node: NodeOf<T>, view: NodeView): RecordedMock | undefined;
  /** Runs the node; returns the arrivals that follow at once (if any). */
  activate(step: Step<T>): Promise<Arrival[]>;
  /**
   * Runs the node without a single promise, when its expressions are simple enough; undefined
   * (before any change to the state) to take `activate` instead. May throw NeedsAsync likewise.
   */
  activateSync?(step: Step<T>): SyncResult | undefined;
}
