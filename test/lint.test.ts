/**
 * The fences are enforced by lint: Node built-ins cannot enter interpreter/ or workflows/, and no
 * module imports one that (through others) imports it back.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function lint(code: string, filePath: string) {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint fence', () => {
  const forbidden: Array<[string, string, RegExp]> = [
    ["import fs from 'fs';\nexport const x = fs;\n", 'interpreter/engine.ts', /no-restricted-imports/],
    [
      "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
      'interpreter/engine.ts',
      /no-restricted-imports/,
    ],
    [
      "import { Client } from '@temporalio/client';\nexport const x = Client;\n",
      'interpreter/engine.ts',
      /no-restricted-imports/,
    ],
    ['export const now = Date.now();\n', 'interpreter/engine.ts', /no-restricted-properties/],
    ['export const r = Math.random();\n', 'interpreter/engine.ts', /no-restricted-properties/],
    ["import http from 'http';\nexport const x = http;\n", 'workflows/interpret.ts', /no-restricted-imports/],
  ];
  for (const [code, file, rule] of forbidden) {
    test(`${file}: ${code.split('\n')[0]} fails lint`, async () => {
      const messages = await lint(code, file);
      assert.ok(
        messages.some((m) => rule.test(m)),
        messages.join('\n'),
      );
    });
  }
  test('the same import is allowed in src/', async () => {
    const messages = await lint("import fs from 'fs';\nexport const x = fs;\n", 'src/config.ts');
    assert.ok(!messages.some((m) => /no-restricted-imports/.test(m)), messages.join('\n'));
  });
  test('a planted import cycle fails lint (the TypeScript sources resolve, so no-cycle sees them)', async () => {
    // postgres-store.ts imports postgres-errors.ts; importing it back from there closes a cycle.
    const planted =
      "import { PostgresDefinitionStore } from './postgres-store.js';\nexport const x = PostgresDefinitionStore;\n";
    const messages = await lint(planted, 'src/store/postgres-errors.ts');
    assert.ok(
      messages.some((m) => /import-x\/no-cycle/.test(m)),
      messages.join('\n'),
    );
    // The same import from a module nothing imports back is no cycle.
    const clean = await lint(planted, 'src/store/open-store.ts');
    assert.ok(!clean.some((m) => /import-x\/no-cycle/.test(m)), clean.join('\n'));
  });
});
