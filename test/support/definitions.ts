/** Definitions generated for tests and benchmarks: long sequences, wide fan-outs, loops. */

/** N http tasks in a chain, each writing its output. */
export function sequenceDefinition(url: string, steps: number) {
  const ids = Array.from({ length: steps }, (_, i) => `s${i}`);
  return {
    id: `sequence-${steps}`,
    nodes: ids.map((id, i) => ({
      id,
      type: 'task',
      connector: 'http',
      action: 'request',
      inputs: { url, query: { i } },
      output: id,
    })),
    edges: ids.slice(1).map((id, i) => ({ from: ids[i] as string, to: id })),
  };
}

/** A start node, N parallel http tasks, and a join. */
export function fanOutDefinition(url: string, branches: number) {
  const ids = Array.from({ length: branches }, (_, i) => `b${i}`);
  return {
    id: `fan-out-${branches}`,
    nodes: [
      { id: 'start', type: 'set', assign: { started: 'true' } },
      ...ids.map((id, i) => ({
        id,
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url, query: { i } },
      })),
      { id: 'done', type: 'join' },
    ],
    edges: [...ids.map((id) => ({ from: 'start', to: id })), ...ids.map((id) => ({ from: id, to: 'done' }))],
  };
}

/** A counter loop: `set` + `condition` + a back edge, `iterations` times. */
export function counterLoopDefinition(iterations: number, task?: { url: string }) {
  return {
    id: `loop-${iterations}`,
    variables: [{ name: 'i', type: 'number', default: 0 }],
    options: { max_node_visits: iterations + 10 },
    nodes: [
      { id: 'begin', type: 'set', assign: { i: '0' } },
      { id: 'inc', type: 'set', assign: { i: 'vars.i + 1' } },
      ...(task
        ? [
            {
              id: 'work',
              type: 'task',
              connector: 'http',
              action: 'request',
              inputs: { url: task.url, query: { i: '{{ vars.i }}' } },
            },
          ]
        : []),
      { id: 'again', type: 'condition', expression: `vars.i < ${iterations}` },
    ],
    edges: [
      { from: 'begin', to: 'inc' },
      ...(task
        ? [
            { from: 'inc', to: 'work' },
            { from: 'work', to: 'again' },
          ]
        : [{ from: 'inc', to: 'again' }]),
      { from: 'again', to: 'inc', when: 'nodes.again.output' },
    ],
  };
}

/** A budgeted `map` whose `ai` body says each word of `vars.words` (output `said`). */
export function aiMapDefinition(model: string, maxCost: number, words: string[], concurrency: number) {
  return {
    id: 'map-budget',
    options: { max_cost_usd: maxCost },
    variables: [{ name: 'words', type: 'array', default: words }],
    nodes: [
      {
        id: 'each',
        type: 'map',
        items: 'vars.words',
        max_concurrency: concurrency,
        ai: { model, prompt_template: 'say {{ item }}' },
        output: 'said',
      },
    ],
  };
}

/**
 * One http task calling `<url>?order=<input.order_id>` (and the run's `options`): the shape the
 * run-level flow control tests start many runs of, keyed by order.
 */
export function orderDefinition(
  id: string,
  url: string,
  options: Record<string, unknown>,
  task: Record<string, unknown> = {},
) {
  return {
    id,
    variables: [{ name: 'order_id', type: 'string', required: true }],
    nodes: [
      {
        id: 'call',
        type: 'task',
        connector: 'http',
        action: 'request',
        inputs: { url: `${url}?order={{input.order_id}}`, timeout: '300s' },
        output: 'answer',
        ...task,
      },
    ],
    options,
  };
}

/**
 * A loop on a condition's branch (`vars.go`): with `go: false` the loop is not taken and must die
 * as a whole so that the join after it fires (the graph fuzzer's finding; `weft-dead-loops`).
 */
export function loopOnBranchDefinition(id: string, go: boolean) {
  return {
    id,
    variables: [
      { name: 'go', type: 'boolean', default: go },
      { name: 'i', type: 'number', default: 0 },
    ],
    nodes: [
      { id: 'c', type: 'condition', expression: 'vars.go' },
      { id: 'a', type: 'set', assign: { side: '"a"' } },
      { id: 'body', type: 'set', assign: { i: 'vars.i + 1' } },
      { id: 'check', type: 'condition', expression: 'vars.i < 2' },
      { id: 'j', type: 'join', mode: 'all' },
      { id: 'finish', type: 'set', assign: { done: 'true' } },
    ],
    edges: [
      { from: 'c', to: 'body', when: 'vars.go = true' },
      { from: 'c', to: 'a', default: true },
      { from: 'body', to: 'check' },
      { from: 'check', to: 'body', when: 'vars.i < 2' },
      { from: 'check', to: 'j', default: true },
      { from: 'a', to: 'j' },
      { from: 'j', to: 'finish' },
    ],
  };
}
