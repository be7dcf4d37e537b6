/**
 * The fences are enforced by lint: Node built-ins cannot enter interpreter/ or workflows/, no
 * module imports one that (through others) imports it back, and no import points up a layer
 * (ARCHITECTURE.md's folder table; the zones in eslint.config.js).
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

/** `import { name } from 'spec'` (or `import type`) and a use of it: a whole planted module. */
function importing(spec: string, name: string, kind: 'value' | 'type' = 'value'): string {
  return kind === 'type'
    ? `import type { ${name} } from '${spec}';\nexport type X = ${name};\n`
    : `import { ${name} } from '${spec}';\nexport const x = ${name};\n`;
}
const PATHS = /import-x\/no-restricted-paths/;
const IMPORTS = /no-restricted-imports/;

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
  // An import pointing up a layer (ARCHITECTURE.md's folder table), and the rule that refuses it.
  const upward: Array<[string, string, RegExp]> = [
    [importing('../src/gateway/app.js', 'createGateway'), 'activities/index.ts', PATHS],
    [importing('../src/store/open-store.js', 'openDefinitionStore'), 'activities/definitions.ts', PATHS],
    [importing('../src/temporal/tenant-runs.js', 'TenantRuns'), 'activities/event-mailbox.ts', PATHS],
    [importing('../src/auth/identity.js', 'Identity', 'type'), 'activities/secrets.ts', PATHS],
    [importing('../gateway/error-handler.js', 'sendError'), 'src/auth/authenticate.ts', PATHS],
    [importing('../worker/create-worker.js', 'startWorker'), 'src/store/open-store.ts', PATHS],
    [importing('../store/definition-store.js', 'StoreUnavailableError'), 'src/shared/http-error.ts', PATHS],
    [importing('../src/shared/canonical-json.js', 'canonicalJson'), 'interpreter/engine.ts', PATHS],
    [importing('../src/shared/http-error.js', 'HttpError', 'type'), 'workflows/interpret.ts', PATHS],
    [importing('../activities/index.js', 'createActivities'), 'workflows/interpret.ts', IMPORTS],
    [importing('../workflows/event-mailbox.js', 'eventMailbox'), 'activities/event-mailbox.ts', IMPORTS],
    [importing('../../src/shared/canonical-json.js', 'canonicalJson'), 'studio/src/api.ts', PATHS],
  ];
  for (const [code, file, rule] of [...forbidden, ...upward]) {
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
  // Imports pointing down, or type-only where the table allows it, pass.
  const downward: Array<[string, string]> = [
    [importing('../src/shared/canonical-json.js', 'canonicalJson'), 'activities/result-cache.ts'],
    [importing('../workflows/event-mailbox.js', 'MailboxArgs', 'type'), 'activities/event-mailbox.ts'],
    [importing('../activities/index.js', 'Activities', 'type'), 'workflows/interpret.ts'],
    [importing('../shared/http-error.js', 'HttpError'), 'src/auth/authenticate.ts'],
    [importing('../auth/authenticate.js', 'GatewayAuth'), 'src/gateway/server.ts'],
    [importing('../worker/create-worker.js', 'startWorker'), 'src/cli/worker.ts'],
  ];
  for (const [code, file] of downward) {
    test(`${file}: ${code.split('\n')[0]} passes the layer fence`, async () => {
      const messages = await lint(code, file);
      assert.ok(!messages.some((m) => PATHS.test(m) || IMPORTS.test(m)), messages.join('\n'));
    });
  }
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
