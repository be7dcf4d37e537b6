/**
 * The node-type registry: every node type of the language and the module that holds what is
 * specific to it (types.ts says what that is). Typed as a record over NodeType, so a type without
 * a module, or a module under the wrong key, does not compile. The engine, the validator,
 * lineage, expression places, taint and recorded mocks dispatch through `nodeModule`.
 * Adding a node type: ARCHITECTURE.md "Adding a node type".
 */
import type { Node, NodeType } from '../definition-schema.js';
import { aiNode } from './ai.js';
import { approvalNode } from './approval.js';
import { conditionNode } from './condition.js';
import { endNode } from './end.js';
import { eventNode } from './event.js';
import { joinNode } from './join.js';
import { mapNode } from './map.js';
import { setNode } from './set.js';
import { subworkflowNode } from './subworkflow.js';
import { taskNode } from './task.js';
import type { NodeModule } from './types.js';
import { waitNode } from './wait.js';

/** The modules by type, in the order the language lists its types (messages list them so). */
export const NODE_TYPES: { readonly [T in NodeType]: NodeModule<T> } = {
  task: taskNode,
  ai: aiNode,
  set: setNode,
  condition: conditionNode,
  join: joinNode,
  wait: waitNode,
  event: eventNode,
  approval: approvalNode,
  subworkflow: subworkflowNode,
  map: mapNode,
  end: endNode,
};

/** The module of a node's type, its operations taking any node (they are called with this node only). */
export function nodeModule(node: Node): NodeModule {
  return NODE_TYPES[node.type] as NodeModule;
}

/** An exhaustiveness check: a switch over a node type that reaches this missed a type. */
export function assertNever(value: never, what = 'node type'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

export { assignInputs } from './set.js';
export type { Checks, ConnectorCatalog, NodeModule, ParamsCheck, Step, SyncResult } from './types.js';
