/**
 * Planted mistakes, as a new user makes them (issue 13): each one is refused with a problem, or
 * accepted with a warning, at the JSON Pointer of the field and with the message the user reads.
 * None may be accepted silently. The first five are the ones that used to do the wrong thing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateDefinition } from '../../interpreter/validate-definition.js';

/** A definition under construction: nodes and edges are edited in place by the cases. */
interface Definition {
  [key: string]: unknown;
  nodes: Array<Record<string, unknown>>;
  edges?: Array<Record<string, unknown>>;
}

const http = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'task',
  connector: 'http',
  action: 'request',
  inputs: { url: 'http://x.test' },
  ...extra,
});
const variables = [
  { name: 'customer', type: 'string' },
  { name: 'order_id', type: 'string' },
  { name: 'amount', type: 'number' },
];
const router = (patch: (d: Definition) => void = () => undefined): Definition => {
  const d: Definition = {
    id: 'mistakes',
    variables: structuredClone(variables),
    nodes: [
      { id: 'classify', type: 'condition', expression: 'vars.amount > 100 ? "hot" : "cold"' },
      http('hot'),
      http('cold'),
    ],
    edges: [
      { from: 'classify', to: 'hot', when: 'nodes.classify.output = "hot"' },
      { from: 'classify', to: 'cold', default: true },
    ],
  };
  patch(d);
  return d;
};
const one = (node: Record<string, unknown>, extra: Record<string, unknown> = {}): Definition => ({
  id: 'mistakes',
  variables: structuredClone(variables),
  nodes: [node],
  ...extra,
});
const mapOf = (body: Record<string, unknown>): Definition =>
  one(
    { id: 'each', type: 'map', items: 'vars.list', ...body },
    { variables: [...structuredClone(variables), { name: 'list', type: 'array' }] },
  );

const edges = (d: Definition) => d.edges as Array<Record<string, unknown>>;
const at = (list: Array<Record<string, unknown>>, i: number): Record<string, unknown> => {
  const item = list[i];
  assert.ok(item, `no item ${i}`);
  return item;
};

type Expected = Array<[path: string, message: string]>;
const NODE_ID_MESSAGE =
  'expected a node id: a letter, then letters, digits, "_" or "-" (max 64), not a name of Object.prototype ("constructor", "toString", "valueOf", …)';
const VARIABLE_MESSAGE =
  'expected a variable name (letters, digits, _), not a name of Object.prototype ("constructor", "toString", "valueOf", "__proto__", …)';
const mistakes: Array<{ name: string; definition: Definition; problems?: Expected; warnings?: Expected }> = [
  {
    name: 'unknown root "output" in a when',
    definition: router((d) => {
      at(edges(d), 0).when = "output = 'hot'";
    }),
    problems: [
      [
        '/edges/0/when',
        'unknown name "output": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "nodes.classify.output"?',
      ],
    ],
  },
  {
    name: 'n8n $json in task inputs',
    definition: router((d) => {
      at(d.nodes, 1).inputs = { url: 'http://x.test', body: { id: '{{ $json.order_id }}' } };
    }),
    problems: [
      [
        '/nodes/1/inputs/body/id',
        '"$json" is not defined: weft has no "$json" (as n8n has); name the data by where it lives ("vars", "input", "nodes" and "run"); did you mean "input.order_id"?',
      ],
    ],
  },
  {
    name: 'Step Functions $.x in a condition',
    definition: router((d) => {
      at(d.nodes, 0).expression = '$.order_id != null';
    }),
    problems: [
      [
        '/nodes/0/expression',
        '"$.order_id": "$" is the whole evaluation context ("vars", "input", "nodes" and "run"), which has no "order_id"; did you mean "input.order_id"?',
      ],
    ],
  },
  {
    name: 'handler match.node names no node',
    definition: router((d) => {
      d.error_handlers = [{ id: 'undo', match: { node: 'charge' }, action: 'compensate' }];
    }),
    problems: [['/error_handlers/0/match/node', 'match.node names an unknown node "charge"']],
  },
  {
    name: 'set of a misspelt undeclared variable',
    definition: router((d) => {
      d.nodes.push({ id: 'note', type: 'set', assign: { custmer: '"x"' } });
      edges(d).push({ from: 'hot', to: 'note' });
    }),
    warnings: [
      [
        '/nodes/3/assign/custmer',
        'variable "custmer" is not declared in "variables", so it is of type any and the run\'s input cannot set it; did you mean "customer"?',
      ],
    ],
  },
  {
    name: 'read of a misspelt variable',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'vars.amout > 100';
    }),
    problems: [
      [
        '/nodes/0/expression',
        '"vars.amout": no variable "amout" is declared, or written by a node\'s output or a set node; did you mean "vars.amount"?',
      ],
    ],
  },
  {
    name: 'input of an undeclared key',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'input.total > 100';
    }),
    problems: [
      ['/nodes/0/expression', '"input.total": the run\'s input holds only declared variables, and "total" is not one'],
    ],
  },
  {
    name: 'input of a misspelt key',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'input.ammount > 100';
    }),
    problems: [
      [
        '/nodes/0/expression',
        '"input.ammount": the run\'s input holds only declared variables, and "ammount" is not one; did you mean "input.amount"?',
      ],
    ],
  },
  {
    name: 'unknown node id, near one',
    definition: router((d) => {
      at(edges(d), 0).when = 'nodes.clasify.output = "hot"';
    }),
    problems: [['/edges/0/when', '"nodes.clasify": there is no node "clasify"; did you mean "nodes.classify.output"?']],
  },
  {
    name: 'unknown field of a node record',
    definition: router((d) => {
      at(edges(d), 0).when = 'nodes.classify.result = "hot"';
    }),
    problems: [
      [
        '/edges/0/when',
        '"nodes.classify.result": a node\'s record has "output", "status", "attempts" and "error"; did you mean "nodes.classify.output"?',
      ],
    ],
  },
  {
    name: 'error outside an error path',
    definition: router((d) => {
      at(d.nodes, 1).inputs = { url: 'http://x.test', body: '{{ error.message }}' };
    }),
    problems: [
      [
        '/nodes/1/inputs/body',
        '"error": "error" is only in scope on error paths (after an on: "error" edge or a goto handler), not here',
      ],
    ],
  },
  {
    name: 'misspelt field of error on an error path',
    definition: router((d) => {
      d.nodes.push(http('alert', { inputs: { url: 'http://x.test', body: '{{ error.mesage }}' } }));
      edges(d).push({ from: 'hot', to: 'alert', on: 'error' });
    }),
    problems: [
      [
        '/nodes/3/inputs/body',
        '"error.mesage": an error has "type", "message", "node" and "attempt"; did you mean "error.message"?',
      ],
    ],
  },
  {
    name: 'item outside a map body',
    definition: router((d) => {
      at(d.nodes, 1).inputs = { url: '{{ item.url }}' };
    }),
    problems: [
      [
        '/nodes/1/inputs/url',
        '"item": "item" is only in scope in a map node\'s body (task, ai or subworkflow), not here',
      ],
    ],
  },
  {
    name: 'index in map items',
    definition: mapOf({
      items: '$append(vars.list, index)',
      task: { connector: 'http', action: 'request', inputs: { url: '{{ item }}' } },
    }),
    problems: [
      ['/nodes/0/items', '"index": "index" is only in scope in a map node\'s body (task, ai or subworkflow), not here'],
    ],
  },
  {
    name: 'misspelt run field',
    definition: router((d) => {
      at(d.nodes, 1).inputs = { url: 'http://x.test', query: { at: '{{ run.started }}' } };
    }),
    problems: [
      [
        '/nodes/1/inputs/query/at',
        '"run.started": run has "id", "definition_id", "definition_version", "started_at" and "started_by"; did you mean "run.started_at"?',
      ],
    ],
  },
  {
    name: '$$ alone',
    definition: router((d) => {
      at(d.nodes, 1).inputs = { url: 'http://x.test', body: '{{ $$ }}' };
    }),
    problems: [
      [
        '/nodes/1/inputs/body',
        '"$$" is the whole evaluation context ("vars", "input", "nodes" and "run"), not data of the run: name the value you mean; did you mean "nodes.classify.output"?',
      ],
    ],
  },
  {
    name: '$ alone as data',
    definition: router((d) => {
      at(d.nodes, 0).expression = '$string($)';
    }),
    problems: [
      [
        '/nodes/0/expression',
        '"$" is the whole evaluation context ("vars", "input", "nodes" and "run"), not data of the run: name the value you mean',
      ],
    ],
  },
  {
    name: 'an undefined $variable',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'vars.amount > $limit';
    }),
    problems: [
      [
        '/nodes/0/expression',
        '"$limit" is not defined: it is neither a function weft allows nor bound in the expression (with :=, or as a function parameter)',
      ],
    ],
  },
  {
    name: '$json in a when',
    definition: router((d) => {
      at(edges(d), 0).when = '$json.kind = "hot"';
    }),
    problems: [
      [
        '/edges/0/when',
        '"$json" is not defined: weft has no "$json" (as n8n has); name the data by where it lives ("vars", "input", "nodes" and "run"); did you mean "nodes.classify.output.kind"?',
      ],
    ],
  },
  {
    name: 'n8n $node',
    definition: router((d) => {
      at(d.nodes, 1).inputs = { url: 'http://x.test', body: '{{ $node.classify.json }}' };
    }),
    problems: [
      [
        '/nodes/1/inputs/body',
        '"$node" is not defined: weft has no "$node" (as n8n has); name the data by where it lives ("vars", "input", "nodes" and "run"); did you mean "nodes.classify.output"?',
      ],
    ],
  },
  {
    name: 'map ai body with a broken system template',
    definition: mapOf({ ai: { model: 'm', prompt_template: 'p {{ item }}', system: 'be {{ vars. }}' } }),
    problems: [
      ['/nodes/0/ai/system', 'invalid JSONata expression "vars.": Unexpected end of expression at position 5'],
    ],
  },
  {
    name: 'map ai body with a misspelt item',
    definition: mapOf({ ai: { model: 'm', prompt_template: 'Summarise {{ itm.text }}' } }),
    problems: [
      [
        '/nodes/0/ai/prompt_template',
        'unknown name "itm": expressions read "vars", "input", "nodes", "run", "item" and "index" ("error" only on error paths); did you mean "item.text"?',
      ],
    ],
  },
  {
    name: 'map task body with a compensation',
    definition: mapOf({
      task: {
        connector: 'http',
        action: 'request',
        inputs: { url: '{{ item }}' },
        compensation: { connector: 'http', action: 'request', inputs: { url: 'http://x.test' } },
      },
    }),
    problems: [
      [
        '/nodes/0/task/compensation',
        'a map body has no compensation: sagas compensate completed task nodes only; put the call in a task node after the map',
      ],
    ],
  },
  {
    name: 'map task body with an unknown connector',
    definition: mapOf({ task: { connector: 'htp', action: 'request', inputs: { url: '{{ item }}' } } }),
    problems: [['/nodes/0/task/connector', 'unknown connector "htp"; available: http']],
  },
  {
    name: 'edge to a misspelt node',
    definition: router((d) => {
      at(edges(d), 1).to = 'clod';
    }),
    problems: [['/edges/1/to', 'edge to unknown node "clod"; did you mean "cold"?']],
  },
  {
    name: 'goto to a misspelt node',
    definition: router((d) => {
      d.error_handlers = [{ id: 'h', action: 'goto', target: 'cld' }];
    }),
    problems: [['/error_handlers/0/target', 'expected the id of an existing node for "goto"; did you mean "cold"?']],
  },
  {
    name: 'target on a non-goto handler',
    definition: router((d) => {
      d.error_handlers = [{ id: 'h', action: 'retry', target: 'cold' }];
    }),
    problems: [['/error_handlers/0/target', '"target" is used only by a "goto" handler; this one is "retry"']],
  },
  {
    name: 'retry_policy on a non-retry handler',
    definition: router((d) => {
      d.error_handlers = [{ id: 'h', action: 'terminate', retry_policy: { max_attempts: 3 } }];
    }),
    problems: [
      ['/error_handlers/0/retry_policy', '"retry_policy" is used only by a "retry" handler; this one is "terminate"'],
    ],
  },
  {
    name: 'duplicate handler ids',
    definition: router((d) => {
      d.error_handlers = [
        { id: 'h', match: { node: 'hot' }, action: 'continue' },
        { id: 'h', match: { node: 'cold' }, action: 'continue' },
      ];
    }),
    problems: [['/error_handlers/1/id', 'duplicate handler id "h" (also /error_handlers/0)']],
  },
  {
    name: 'two default edges',
    definition: router((d) => {
      edges(d).push({ from: 'classify', to: 'hot', default: true });
    }),
    problems: [
      [
        '/edges/2/default',
        'the success edges of "classify" already have a default (/edges/1); at most one edge can be the default',
      ],
    ],
  },
  {
    name: 'event trigger filters reading vars',
    definition: router((d) => {
      d.triggers = [{ type: 'event', event_type: 'lead.created', filters: 'vars.amount > 5' }];
    }),
    problems: [
      [
        '/triggers/0/filters',
        'unknown name "vars": an event filter reads only "event" (the event: event_type, payload, …); did you mean "event.payload.amount"?',
      ],
    ],
  },
  {
    name: 'event node filters with a misspelt event',
    definition: one({
      id: 'paid',
      type: 'event',
      event_type: 'payment',
      correlation_key: 'input.order_id',
      filters: 'evnt.payload.ok',
    }),
    problems: [
      [
        '/nodes/0/filters',
        'unknown name "evnt": expressions read "vars", "input", "nodes", "run" and "event" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "event.payload.ok"?',
      ],
    ],
  },
  {
    name: '$.vars of an undeclared variable',
    definition: router((d) => {
      at(d.nodes, 0).expression = '$.vars.amout > 1';
    }),
    problems: [
      [
        '/nodes/0/expression',
        '"$.vars.amout": no variable "amout" is declared, or written by a node\'s output or a set node; did you mean "vars.amount"?',
      ],
    ],
  },
  {
    name: 'end result with an unknown root',
    definition: one({ id: 'done', type: 'end', result: 'variables.customer' }),
    problems: [
      [
        '/nodes/0/result',
        'unknown name "variables": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "vars.customer"?',
      ],
    ],
  },
  {
    name: 'wait until with an unknown root',
    definition: one({ id: 'later', type: 'wait', until: 'vars.amount ? deadline : null' }),
    problems: [
      [
        '/nodes/0/until',
        'unknown name "deadline": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies)',
      ],
    ],
  },
  {
    name: 'subworkflow inputs with a misspelt root',
    definition: one({ id: 'child', type: 'subworkflow', definition: 'child', inputs: { who: '{{ var.customer }}' } }),
    problems: [
      [
        '/nodes/0/inputs/who',
        'unknown name "var": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "vars.customer"?',
      ],
    ],
  },
  {
    name: 'ai prompt with a misspelt node field',
    definition: {
      id: 'mistakes',
      nodes: [
        http('fetch'),
        { id: 'sum', type: 'ai', model: 'm', prompt_template: 'Summarise {{ nodes.fetch.ouput.body }}' },
      ],
      edges: [{ from: 'fetch', to: 'sum' }],
    },
    problems: [
      [
        '/nodes/1/prompt_template',
        '"nodes.fetch.ouput": a node\'s record has "output", "status", "attempts" and "error"; did you mean "nodes.fetch.output"?',
      ],
    ],
  },
  {
    name: '$schema that is not a string',
    definition: { ...router(), $schema: 42 },
    problems: [['/$schema', 'expected the URI of a JSON Schema (a string)']],
  },
  {
    name: 'Vars in the wrong case',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'Vars.amount > 1';
    }),
    problems: [
      [
        '/nodes/0/expression',
        'unknown name "Vars": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "vars.amount"?',
      ],
    ],
  },
  {
    name: 'inputs for input',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'inputs.amount > 1';
    }),
    problems: [
      [
        '/nodes/0/expression',
        'unknown name "inputs": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "input.amount"?',
      ],
    ],
  },
  {
    name: 'node for nodes',
    definition: router((d) => {
      at(edges(d), 0).when = 'node.classify.output = "hot"';
    }),
    problems: [
      [
        '/edges/0/when',
        'unknown name "node": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "nodes.classify.output"?',
      ],
    ],
  },
  {
    name: 'correlation key with $json',
    definition: one({ id: 'paid', type: 'event', event_type: 'payment', correlation_key: '$json.order_id' }),
    problems: [
      [
        '/nodes/0/correlation_key',
        '"$json" is not defined: weft has no "$json" (as n8n has); name the data by where it lives ("vars", "input", "nodes" and "run"); did you mean "input.order_id"?',
      ],
    ],
  },
  {
    name: 'item in an edge when',
    definition: router((d) => {
      at(edges(d), 0).when = 'item.kind = "hot"';
    }),
    problems: [
      ['/edges/0/when', '"item": "item" is only in scope in a map node\'s body (task, ai or subworkflow), not here'],
    ],
  },
  {
    name: 'index with a field',
    definition: mapOf({
      task: { connector: 'http', action: 'request', inputs: { url: '{{ item }}', n: '{{ index.n }}' } },
    }),
    problems: [['/nodes/0/task/inputs/n', '"index.n": "index" is a number (the item\'s position), it has no fields']],
  },
  {
    name: 'a bare variable name',
    definition: router((d) => {
      at(d.nodes, 0).expression = 'amount > 100';
    }),
    problems: [
      [
        '/nodes/0/expression',
        'unknown name "amount": expressions read "vars", "input", "nodes" and "run" ("error" only on error paths, "item"/"index" only in map bodies); did you mean "vars.amount"?',
      ],
    ],
  },
  {
    name: 'unreachable handler after a catch-all',
    definition: router((d) => {
      d.error_handlers = [
        { id: 'all', action: 'terminate' },
        { id: 'hot-only', match: { node: 'hot' }, action: 'continue' },
      ];
    }),
    warnings: [
      [
        '/error_handlers/1',
        'handler "hot-only" is never used: handler "all" (/error_handlers/0) comes first and matches every failure it matches',
      ],
    ],
  },
  {
    name: 'handler for a node with an error edge',
    definition: router((d) => {
      d.nodes.push(http('alert'));
      edges(d).push({ from: 'hot', to: 'alert', on: 'error' });
      d.error_handlers = [{ id: 'h', match: { node: 'hot' }, action: 'continue' }];
    }),
    warnings: [
      [
        '/error_handlers/0/match/node',
        'handler "h" is never used: "hot" has an on: "error" edge, which takes the failure instead of any handler',
      ],
    ],
  },
  {
    name: 'condition without a default edge',
    definition: router((d) => {
      delete at(edges(d), 1).default;
      at(edges(d), 1).when = 'nodes.classify.output = "cold"';
    }),
    warnings: [
      [
        '/nodes/0',
        'condition "classify": every outgoing edge has a "when" and none is "default": true, so when none holds the branch ends here silently; mark one edge as the default',
      ],
    ],
  },
  {
    name: 'constant when',
    definition: router((d) => {
      at(edges(d), 0).when = 'true';
    }),
    warnings: [
      [
        '/edges/0/when',
        '"when" is constant (it reads no vars, input or nodes), so it gives the same answer in every run; write the condition, or drop "when" to always follow the edge',
      ],
    ],
  },
  {
    name: 'output to a misspelt undeclared variable',
    definition: router((d) => {
      at(d.nodes, 1).output = 'custome';
    }),
    warnings: [
      [
        '/nodes/1/output',
        'variable "custome" is not declared in "variables", so it is of type any and the run\'s input cannot set it; did you mean "customer"?',
      ],
    ],
  },
  {
    name: 'approval quorum of zero',
    definition: one({ id: 'ok', type: 'approval', quorum: 0 }),
    problems: [['/nodes/0/quorum', 'Too small: expected number to be >=1']],
  },
  {
    name: 'approval quorum that is not a whole number',
    definition: one({ id: 'ok', type: 'approval', quorum: 1.5 }),
    problems: [['/nodes/0/quorum', 'Invalid input: expected int, received number']],
  },
  {
    name: 'approval quorum above the listed caller ids',
    definition: one({ id: 'ok', type: 'approval', approvers: ['key:ann', 'jwt:bob', 'key:ann'], quorum: 3 }),
    problems: [
      [
        '/nodes/0/quorum',
        'quorum is 3 but "approvers" lists only 2 caller id(s) and no role, so it could never be met',
      ],
    ],
  },
  {
    name: 'forbid_self_approval that is not a boolean',
    definition: one({ id: 'ok', type: 'approval', forbid_self_approval: 'yes' }),
    problems: [['/nodes/0/forbid_self_approval', 'Invalid input: expected boolean, received string']],
  },
  {
    name: 'a key written as a filter: nodes["classify"] and vars["customer"]',
    definition: router((d) => {
      at(d.nodes, 1).inputs = {
        url: 'http://x.test',
        body: { hot: '{{ nodes["classify"].status }}', who: '{{ vars["customer"] }}' },
      };
    }),
    problems: [
      [
        '/nodes/1/inputs/body/hot',
        'JSONata reads nodes["classify"] as a filter, not a key (it keeps all of nodes); write nodes.classify',
      ],
      [
        '/nodes/1/inputs/body/who',
        'JSONata reads vars["customer"] as a filter, not a key (it keeps all of vars); write vars.customer',
      ],
    ],
  },
  {
    name: 'a node id with a hyphen written as a filter',
    definition: router((d) => {
      d.nodes.push(http('send-mail'));
      edges(d).push({ from: 'hot', to: 'send-mail' });
      at(edges(d), 0).when = 'nodes["send-mail"].status = "completed"';
    }),
    problems: [
      [
        '/edges/0/when',
        'JSONata reads nodes["send-mail"] as a filter, not a key (it keeps all of nodes); write nodes.`send-mail`',
      ],
    ],
  },
  {
    name: 'approvers naming the role in the plural',
    definition: one({ id: 'ok', type: 'approval', approvers: ['approvers'] }),
    warnings: [
      [
        '/nodes/0/approvers/0',
        'approver "approvers" is neither a role (viewer, operator, editor, approver, admin) nor a caller id ("key:<key name>", "jwt:<subject>" or "local-dev"), so no caller can match it; did you mean "approver"?',
      ],
    ],
  },
  {
    name: 'approvers naming a person without the caller id form',
    definition: one({ id: 'ok', type: 'approval', approvers: ['key:cfo', 'ann'] }),
    warnings: [
      [
        '/nodes/0/approvers/1',
        'approver "ann" is neither a role (viewer, operator, editor, approver, admin) nor a caller id ("key:<key name>", "jwt:<subject>" or "local-dev"), so no caller can match it; did you mean "key:ann" or "jwt:ann"?',
      ],
    ],
  },
  {
    name: 'a misspelt error type in a handler',
    definition: router((d) => {
      d.error_handlers = [{ id: 'h', match: { node: 'hot', error_type: 'HttpErorr' }, action: 'continue' }];
    }),
    warnings: [
      [
        '/error_handlers/0/match/error_type',
        'handler "h": no failure has the error type "HttpErorr" (connectors fail with types such as HttpError, Timeout, SqlError; the engine with Rejected, ExpressionError, …), so it never matches; did you mean "HttpError"?',
      ],
    ],
  },
  {
    name: 'an error type no failure has, in a list',
    definition: router((d) => {
      d.error_handlers = [{ id: 'h', match: { error_type: ['Timeout', 'Http500'] }, action: 'continue' }];
    }),
    warnings: [
      [
        '/error_handlers/0/match/error_type/1',
        'handler "h": no failure has the error type "Http500" (connectors fail with types such as HttpError, Timeout, SqlError; the engine with Rejected, ExpressionError, …), so it never matches',
      ],
    ],
  },
  // Names of Object.prototype members: the run state keeps nodes and variables in plain objects,
  // where such a name reads the inherited member (a node "toString" never ran, and the run
  // completed without it).
  {
    name: 'a node id that names an Object.prototype member',
    definition: one(http('toString')),
    problems: [['/nodes/0/id', NODE_ID_MESSAGE]],
  },
  {
    name: 'a map node with the id "constructor"',
    definition: one({
      id: 'constructor',
      type: 'map',
      items: '[1, 2]',
      task: { connector: 'http', action: 'request', inputs: { url: 'http://x.test' } },
    }),
    problems: [['/nodes/0/id', NODE_ID_MESSAGE]],
  },
  {
    name: 'a variable named after an Object.prototype member',
    definition: one({ id: 'ok', type: 'end' }, { variables: [{ name: 'valueOf', type: 'string' }] }),
    problems: [['/variables/0/name', VARIABLE_MESSAGE]],
  },
  {
    name: 'a set node assigning "hasOwnProperty"',
    definition: one({ id: 'keep', type: 'set', assign: { hasOwnProperty: '1' } }),
    problems: [['/nodes/0/assign/hasOwnProperty', VARIABLE_MESSAGE]],
  },
];

describe('planted mistakes are refused or warned, never accepted silently', () => {
  test('the table has at least 40 mistakes', () => assert.ok(mistakes.length >= 40, String(mistakes.length)));
  for (const mistake of mistakes) {
    test(mistake.name, () => {
      const result = validateDefinition(mistake.definition, { http: ['request'] });
      const pairs = (list: Array<{ path: string; message: string }>) =>
        list.map((p): [string, string] => [p.path, p.message]);
      if (mistake.problems) {
        assert.ok(!result.ok, 'expected the definition to be refused');
        assert.deepEqual(pairs(result.problems), mistake.problems);
      } else {
        assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
        assert.ok((mistake.warnings ?? []).length > 0, 'a case must expect a problem or a warning');
        assert.deepEqual(pairs(result.warnings), mistake.warnings);
      }
    });
  }
});

/** Names read where the context does hold them: accepted, with no problem and no warning. */
const inScope: Array<{ name: string; definition: Definition }> = [
  {
    name: 'error in the when of an error edge and in the node it leads to',
    definition: router((d) => {
      d.nodes.push(
        http('alert', { inputs: { url: 'http://x.test', body: '{{ error.message & " at " & error.node }}' } }),
      );
      edges(d).push({ from: 'hot', to: 'alert', on: 'error', when: 'error.type = "HttpError"', default: true });
    }),
  },
  {
    name: 'error in the target of a goto handler',
    definition: router((d) => {
      d.nodes.push({ id: 'report', type: 'set', assign: { customer: 'error.message' } });
      edges(d).push({ from: 'cold', to: 'report' });
      d.error_handlers = [{ id: 'h', match: { node: 'hot' }, action: 'goto', target: 'report' }];
    }),
  },
  {
    name: 'item and index in every map body',
    definition: mapOf({
      task: { connector: 'http', action: 'request', inputs: { url: '{{ item.url }}', n: '{{ index }}' } },
    }),
  },
  {
    name: 'relative names in predicates, later steps, blocks, groups, sorts and transforms',
    definition: router((d) => {
      at(d.nodes, 0).expression = [
        '$count(nodes.classify.output[kind = "x"].name)',
        '$sum(vars.amount.(price * 2))',
        '$count($keys(nodes.hot.output{kind: $count($)}))',
        '$count(nodes.hot.output^(>price))',
        '$count(nodes.hot.output ~> | lines | {"seen": true} |)',
      ].join(' + ');
    }),
  },
  {
    name: '$$ reaching the context from a predicate, functions and bindings',
    definition: router((d) => {
      at(d.nodes, 0).expression =
        '($limit := vars.amount; $count($filter(nodes.hot.output, function($v, $i) { $v.price > $$.vars.amount and $i < $limit })))';
    }),
  },
  {
    name: 'the whole of vars, nodes by a computed name, run and built-ins',
    definition: router((d) => {
      at(d.nodes, 1).inputs = {
        url: 'http://x.test',
        body: { all: '{{ vars.* }}', one: '{{ $lookup(vars, "customer") }}', hot: '{{ nodes.classify.status }}' },
        query: { run: '{{ run.id }}', at: '{{ run.started_at }}', now: '{{ $now() }}', order: '{{ input.order_id }}' },
      };
    }),
  },
  {
    name: 'event filters: the event besides the run in a node, the event alone in a trigger',
    definition: one(
      {
        id: 'paid',
        type: 'event',
        event_type: 'payment',
        correlation_key: 'input.order_id',
        filters: 'event.payload.ok and vars.amount > 0',
      },
      { triggers: [{ type: 'event', event_type: 'lead.created', filters: 'event.payload.amount > 5' }] },
    ),
  },
  {
    name: "approvers by role and id with a quorum; the run's starter in a template",
    definition: one(
      { id: 'ok', type: 'approval', approvers: ['approver', 'key:ann'], quorum: 3, forbid_self_approval: true },
      {
        nodes: [
          { id: 'ok', type: 'approval', approvers: ['approver', 'key:ann'], quorum: 3, forbid_self_approval: true },
          http('tell', { inputs: { url: 'http://x.test', body: { to: '{{ run.started_by }}' } } }),
        ],
        edges: [{ from: 'ok', to: 'tell' }],
      },
    ),
  },
];

describe('names in scope are accepted', () => {
  for (const { name, definition } of inScope) {
    test(name, () => {
      const result = validateDefinition(definition, { http: ['request'] });
      assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
      assert.deepEqual(result.warnings, []);
    });
  }

  test('"$schema" at the top is accepted and taken off', () => {
    const result = validateDefinition({ $schema: 'https://weft.example/v1/schema/definition.json', ...router() });
    assert.ok(result.ok);
    assert.equal('$schema' in result.definition, false);
  });
});
