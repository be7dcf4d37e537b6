/** The node-type registry: one module per type of the language, under its own key, with its own schema. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowNode } from '../../interpreter/definition-schema.js';
import { NODE_TYPES, assertNever } from '../../interpreter/nodes/index.js';
import { SUPPORTED_NODE_TYPES } from '../../interpreter/validate-definition.js';

describe('node-type registry', () => {
  test('has one module per type of the schema, each under its own type and holding that schema', () => {
    const schemaTypes = WorkflowNode.options.map((option) => option.shape.type.value as string);
    assert.deepEqual(Object.keys(NODE_TYPES), schemaTypes);
    for (const [type, module] of Object.entries(NODE_TYPES)) {
      assert.equal(module.type, type);
      assert.ok(WorkflowNode.options.includes(module.schema as (typeof WorkflowNode.options)[number]), type);
    }
  });

  test('the supported types are the registry, in its order', () => {
    assert.deepEqual([...SUPPORTED_NODE_TYPES], Object.keys(NODE_TYPES));
  });

  test('assertNever names what it did not expect', () => {
    assert.throws(() => assertNever('loop' as never), /unexpected node type: "loop"/);
  });
});
