/**
 * Parameter substitution and template checks as data tables, without a gateway: where a value may
 * land, what a value may hold, and every starter template checked with the real connector catalog
 * through the validation `POST /v1/definitions` uses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectorRegistry } from '../../activities/connectors/registry.js';
import { validateDefinition } from '../../interpreter/validate-definition.js';
import { triggerProblems } from '../../src/gateway/trigger-checks.js';
import { checkTemplate } from '../../src/templates/check-template.js';
import { isExpressionPointer } from '../../interpreter/expression-pointers.js';
import { instantiate } from '../../src/templates/instantiate.js';
import { STARTER_TEMPLATES } from '../../src/templates/starter.js';
import { Template } from '../../src/templates/template-schema.js';

const registry = new ConnectorRegistry();
const definitionProblems = (definition: unknown) => {
  const result = validateDefinition(definition, registry.catalog(), (c, a, i) => registry.checkParams(c, a, i));
  return result.ok ? triggerProblems(result.definition) : result.problems;
};

describe('expression positions', () => {
  const table: Array<[string, boolean]> = [
    ['/edges/3/when', true],
    ['/nodes/0/expression', true],
    ['/nodes/1/assign/total', true],
    ['/nodes/2/items', true],
    ['/nodes/2/until', true],
    ['/nodes/2/correlation_key', true],
    ['/nodes/2/filters', true],
    ['/nodes/2/result', true],
    ['/nodes/2/output_mapping/label', true],
    ['/nodes/2/ai/output_mapping/properties/x/type', true],
    ['/nodes/2/resource_limits/concurrency_key', true],
    ['/nodes/2/task/resource_limits/concurrency_key', true],
    ['/triggers/0/filters', true],
    ['/options/result', true],
    ['/nodes/2/inputs/url', false],
    ['/nodes/2/inputs/assign', false],
    ['/nodes/2/prompt_template', false],
    ['/variables/0/default', false],
    ['/triggers/0/cron', false],
    ['/nodes/2/timeout', false],
  ];
  for (const [pointer, expected] of table)
    test(`${pointer} ${expected ? 'is' : 'is not'} read as an expression`, () => {
      assert.equal(isExpressionPointer(pointer), expected);
    });
});

describe('instantiate', () => {
  const template = Template.parse({
    id: 't',
    name: 'T',
    parameters: [
      { name: 'url', type: 'string' },
      { name: 'n', type: 'number', default: 2, maximum: 10 },
      { name: 'extra', type: 'json', required: false },
    ],
    definition: {
      variables: [
        { name: 'url', type: 'string', default: { $param: 'url' } },
        { name: 'extra', type: 'any', default: { $param: 'extra' } },
      ],
      nodes: [
        {
          id: 'a',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: '{{ vars.url }}', query: { n: { $param: 'n' } } },
        },
      ],
    },
  });

  test('values replace their placeholders as whole JSON values, deep copies, with defaults and nulls', () => {
    const extra = { list: [1, 2] };
    const result = instantiate(template, 'made', { url: 'https://x', extra });
    assert.ok(result.ok);
    extra.list.push(3);
    assert.deepEqual(result.definition, {
      id: 'made',
      variables: [
        { name: 'url', type: 'string', default: 'https://x' },
        { name: 'extra', type: 'any', default: { list: [1, 2] } },
      ],
      nodes: [
        {
          id: 'a',
          type: 'task',
          connector: 'http',
          action: 'request',
          inputs: { url: '{{ vars.url }}', query: { n: 2 } },
        },
      ],
    });
    assert.deepEqual(
      result.placements.map((p) => [p.pointer, p.name]),
      [
        ['/variables/0/default', 'url'],
        ['/variables/1/default', 'extra'],
        ['/nodes/0/inputs/query/n', 'n'],
      ],
    );
    for (const values of [{ url: 'https://x' }, { url: 'https://x', extra: null }]) {
      const nulls = instantiate(template, 'made', values);
      assert.ok(nulls.ok);
      assert.equal((nulls.definition.variables as Array<{ default: unknown }>)[1]?.default, null);
    }
  });

  const refused: Array<[Record<string, unknown>, string, RegExp]> = [
    [{}, '/parameters/url', /required/],
    [{ url: 5 }, '/parameters/url', /expected a string/],
    [{ url: 'x', n: 11 }, '/parameters/n', /at most 10/],
    [{ url: 'x', n: '2' }, '/parameters/n', /expected a number/],
    [{ url: '{{ $now() }}' }, '/parameters/url', /holds "\{\{"/],
    [{ url: 'x', extra: [{ deep: 'a {{ b }}' }] }, '/parameters/extra', /holds "\{\{"/],
    [{ url: 'x', 'a/b': 1 }, '/parameters/a~1b', /unknown parameter "a\/b"/],
  ];
  for (const [values, path, message] of refused)
    test(`refuses ${JSON.stringify(values)} at ${path}`, () => {
      const result = instantiate(template, 'made', values);
      assert.ok(!result.ok);
      const problem = result.problems.find((p) => p.path === path);
      assert.ok(problem, JSON.stringify(result.problems));
      assert.match(problem.message, message);
    });
});

describe('the starter library', () => {
  test('has at least eight templates, one per use the issue names', () => {
    assert.deepEqual([...STARTER_TEMPLATES.keys()].sort(), [
      'data-quality-check',
      'document-summary',
      'incident-escalation',
      'nightly-fanout-report',
      'order-saga',
      'payment-wait',
      'postgres-http-sync',
      'webhook-lead-enrichment',
    ]);
  });
  for (const template of STARTER_TEMPLATES.values())
    test(`${template.id} passes the checks of POST /v1/templates, every parameter described`, () => {
      const checked = checkTemplate(template, definitionProblems);
      assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.problems));
      assert.ok(template.description && template.description.length > 40);
      for (const parameter of template.parameters) assert.ok(parameter.description, `${template.id}/${parameter.name}`);
    });
});
