/**
 * The submit-time check of tasks' `connection`s against the caller's tenant: a name the tenant
 * has no connection of, one of another connector, or a connection on a connector that takes
 * none, is refused with a pointer to the field. The worker checks again when the task runs
 * (a connection may be deleted meanwhile): the activity fails `ConnectionNotFound`.
 */
import type { Definition } from '../../interpreter/definition-schema.js';
import type { Problem } from '../../interpreter/problems.js';
import { CONNECTION_TYPES } from '../../activities/connections.js';

/** name → connector of the tenant's connections. */
export type TenantConnections = ReadonlyMap<string, string>;

function check(
  call: { connector: string; connection?: string | undefined; inputs?: Record<string, unknown> },
  path: string,
  connections: TenantConnections,
): Problem[] {
  const name = call.connection;
  if (name === undefined) {
    const url = call.inputs?.url;
    // A path is resolved under a connection's base_url: without one it could never be called.
    if (call.connector === 'http' && typeof url === 'string' && url.startsWith('/')) {
      return [
        {
          path: path.replace(/connection$/, 'inputs/url'),
          message: `"${url}" is a path: it needs a "connection" with a base_url; or give an absolute http(s) URL`,
        },
      ];
    }
    return [];
  }
  if (!CONNECTION_TYPES[call.connector]) {
    return [
      {
        path,
        message: `connector "${call.connector}" takes no named connection (those that do: ${Object.keys(CONNECTION_TYPES).join(', ')})`,
      },
    ];
  }
  const connector = connections.get(name);
  if (connector === undefined) {
    return [
      {
        path,
        message: `connection "${name}" not found: the tenant has no connection of that name (GET /v1/connections lists them)`,
      },
    ];
  }
  if (connector !== call.connector) {
    return [
      {
        path,
        message: `connection "${name}" is a ${connector} connection; this call's connector is "${call.connector}"`,
      },
    ];
  }
  return [];
}

/** Problems of every `connection` of the definition's tasks, compensations, ai nodes and map bodies. */
export function connectionProblems(definition: Definition, connections: TenantConnections): Problem[] {
  const problems: Problem[] = [];
  definition.nodes.forEach((node, i) => {
    const at = `/nodes/${i}`;
    if (node.type === 'task') {
      problems.push(...check(node, `${at}/connection`, connections));
      if (node.compensation) problems.push(...check(node.compensation, `${at}/compensation/connection`, connections));
    }
    // An ai node (or map body) calls the AI endpoint: its connection must be an `ai` one.
    if (node.type === 'ai')
      problems.push(...check({ connector: 'ai', connection: node.connection }, `${at}/connection`, connections));
    if (node.type === 'map' && node.ai) {
      problems.push(...check({ connector: 'ai', connection: node.ai.connection }, `${at}/ai/connection`, connections));
    }
    if (node.type === 'map' && node.task) {
      problems.push(...check(node.task, `${at}/task/connection`, connections));
      if (node.task.compensation) {
        problems.push(...check(node.task.compensation, `${at}/task/compensation/connection`, connections));
      }
    }
  });
  return problems;
}
