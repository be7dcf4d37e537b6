/**
 * Every setting the connectors, the activities and the worker read is documented in a README
 * table: the source under activities/, src/worker/ and src/config.ts is scanned for environment
 * reads (`env.X`, `process.env.X`, `env['X']`, helpers called as `f(env, 'X')`, constants named
 * `…_VARIABLE`, keys of the zod schema of src/config.ts, names built as `` `WEFT_X_${…}` ``) and
 * for every `WEFT_*` name, so a new variable cannot go undocumented again.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SCANNED = ['activities', 'src/worker', 'src/config.ts'];

const READS = [
  /\b(?:env|process\.env)\.([A-Z][A-Z0-9_]*[A-Z0-9])\b/g,
  /\benv\[\s*['"]([A-Z][A-Z0-9_]*[A-Z0-9])['"]\s*\]/g,
  /\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*[A-Z0-9])['"]/g,
  /_VARIABLE\s*=\s*['"]([A-Z][A-Z0-9_]*[A-Z0-9])['"]/g,
  /^\s*([A-Z][A-Z0-9_]*[A-Z0-9]):\s*z\b/gm,
  /`([A-Z][A-Z0-9]*_[A-Z0-9_]*_)\$\{/g,
  /\b(WEFT_[A-Z0-9_]*[A-Z0-9])\b/g,
];

/** `WEFT_*` names in the source that are values, not variables. */
const NOT_VARIABLES = new Set([
  // The default stream name of WEFT_EVENTS_NATS_STREAM.
  'WEFT_EVENTS',
]);

function sourceFiles(path: string): string[] {
  const full = join(root, path);
  if (path.endsWith('.ts')) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(full, name));
}

/** Every variable name the scanned source reads, with a file that reads it. */
function variablesRead(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of SCANNED.flatMap(sourceFiles)) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of READS) {
      for (const [, name] of text.matchAll(pattern)) {
        if (name && !NOT_VARIABLES.has(name) && !found.has(name)) found.set(name, file.slice(root.length));
      }
    }
  }
  return found;
}

/**
 * Names in the first cell of a README table row (`` | `A`, `B` | default | meaning | ``); a
 * family such as `` `WEFT_EGRESS_ALLOW_<TENANT>` `` documents the prefix `WEFT_EGRESS_ALLOW_`.
 */
function documentedVariables(readme: string): Set<string> {
  const names = new Set<string>();
  for (const line of readme.split('\n')) {
    const first = /^\|([^|]+)\|/.exec(line)?.[1];
    for (const [, name, family] of first?.matchAll(/`([A-Z][A-Z0-9_]*[A-Z0-9])(_<[A-Z]+>)?`/g) ?? []) {
      if (name) names.add(family ? `${name}_` : name);
    }
  }
  return names;
}

describe('connector settings are documented', () => {
  const read = variablesRead();
  const documented = documentedVariables(readFileSync(join(root, 'README.md'), 'utf8'));

  test('the scan sees the settings it is meant to see', () => {
    const expected = ['WEFT_POSTGRES_URL', 'WEFT_REDIS_URL', 'WEFT_NATS_URL', 'WEFT_SMTP_URL', 'OPENAI_API_KEY'];
    for (const name of [...expected, 'PORT', 'WEFT_EGRESS_ALLOW_', 'WEFT_MAX_NODE_OUTPUT_BYTES']) {
      assert.ok(read.has(name), `${name} not found in the scanned source`);
    }
  });

  test('every variable read is in a README table', () => {
    const missing = [...read].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`);
    assert.deepEqual(missing, [], `undocumented in README: ${missing.join(', ')}`);
  });

  test('a variable missing from the README is caught', () => {
    const readme = '| variable | default |\n| --- | --- |\n| `WEFT_POSTGRES_URL`, `WEFT_X_<TENANT>` | x |\n';
    assert.ok(documentedVariables(readme).has('WEFT_POSTGRES_URL'));
    assert.ok(documentedVariables(readme).has('WEFT_X_'));
    assert.ok(!documentedVariables(readme).has('WEFT_REDIS_URL'));
    assert.ok(!documentedVariables('`WEFT_REDIS_URL` is mentioned in a sentence only').has('WEFT_REDIS_URL'));
  });
});
