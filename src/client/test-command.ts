/**
 * `weft test FILE|DIR…`: runs definition test files (definition-test-file.ts) through the
 * gateway's `POST /v1/definitions/test`. A directory stands for every `*.test.json` under it.
 * Prints PASS / FAIL per case with a diff of what differs; exits 1 when any case failed or was
 * refused, 2 for a test file that cannot be read or is not a test file, 4 when the gateway is
 * unreachable.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { TestRunResult } from '../../interpreter/definition-test.js';
import { toPointer } from '../../interpreter/problems.js';
import { readJsonFile } from './arguments.js';
import type { Command } from './command.js';
import { DefinitionTestFile, mismatches, type DefinitionTestFileValue } from './definition-test-file.js';
import { ExitCode, GatewayError, UsageError } from './errors.js';

const TEST_FILE = /\.test\.json$/;

/** The test files an argument names: the file, or every `*.test.json` under a directory (sorted). */
async function filesOf(arg: string): Promise<string[]> {
  let info;
  try {
    info = await stat(arg);
  } catch (err) {
    throw new UsageError(`cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!info.isDirectory()) return [arg];
  const entries = await readdir(arg, { recursive: true });
  const found = entries
    .filter((e) => TEST_FILE.test(e) && !e.split(/[\\/]/).includes('node_modules'))
    .map((e) => join(arg, e))
    .sort();
  if (found.length === 0) throw new UsageError(`no *.test.json file under ${arg}`);
  return found;
}

async function readTestFile(file: string, stdin: NodeJS.ReadableStream): Promise<DefinitionTestFileValue> {
  const parsed = DefinitionTestFile.safeParse(await readJsonFile(file, stdin));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  ${toPointer(i.path) || '/'}: ${i.message}`);
  throw new UsageError([`${file} is not a definition test file:`, ...problems].join('\n'));
}

/** What the cases of one file send as their definition: inline, a stored id, or a file next to it. */
async function definitionOf(
  file: string,
  test: DefinitionTestFileValue,
  stdin: NodeJS.ReadableStream,
): Promise<{ definition: unknown } | { definition_id: string; version?: string }> {
  if (test.definition_id !== undefined)
    return { definition_id: test.definition_id, ...(test.version === undefined ? {} : { version: test.version }) };
  if (test.definition !== undefined && typeof test.definition !== 'string') return { definition: test.definition };
  const path =
    typeof test.definition === 'string' ? resolve(dirname(file), test.definition) : file.replace(TEST_FILE, '.json');
  if (path === file)
    throw new UsageError(`${file}: name the definition ("definition") or call the file <name>.test.json`);
  return { definition: await readJsonFile(path, stdin) };
}

export const testCommand: Command = {
  name: 'test',
  args: '<file|dir>...',
  summary: 'run definition test files (mocked outputs; nothing is called)',
  details: [
    'Each file holds { "definition"?, "definition_id"?, "version"?, "cases": [{ "name", "input", "mocks", "expect" }] }',
    '(README, "Definition tests"); by default <name>.test.json tests <name>.json next to it. A directory',
    'runs every *.test.json under it. Each case goes to POST /v1/definitions/test; only what "expect"',
    'gives (status, path, variables, result, nodes, error) is compared. Exits 1 when a case fails.',
  ].join('\n'),
  options: {},
  arity: [1, Infinity],
  async run(context) {
    const files = (await Promise.all(context.args.map(filesOf))).flat();
    const tests = [];
    for (const file of files) {
      const test = await readTestFile(file, context.io.stdin);
      tests.push({ file, test, definition: await definitionOf(file, test, context.io.stdin) });
    }
    let passed = 0;
    let failed = 0;
    const report: Array<{
      file: string;
      case: string;
      passed: boolean;
      mismatches?: string[];
      refused?: unknown;
      run?: TestRunResult;
    }> = [];
    for (const { file, test, definition } of tests) {
      const name = relative(process.cwd(), file) || file;
      for (const c of test.cases) {
        const label = `${name} › ${c.name}`;
        let lines: string[];
        let run: TestRunResult | undefined;
        let refused: unknown;
        try {
          run = (
            await context.client.testDefinition({
              ...definition,
              input: c.input,
              mocks: c.mocks,
              ...(c.allow_calls === undefined ? {} : { allow_calls: c.allow_calls }),
            })
          ).body;
          lines = mismatches(c.expect, run);
        } catch (err) {
          // The gateway refused this case (a mock of an unknown node, a bad input…): the case fails.
          if (!(err instanceof GatewayError) || err.status < 400 || err.status >= 500) throw err;
          refused = err.body;
          lines = [
            `refused: ${err.code}: ${err.message}`,
            ...err.details.map((d) => `  ${d.path || '(body)'}: ${d.message}`),
          ];
        }
        const ok = lines.length === 0;
        if (ok) passed++;
        else failed++;
        report.push({
          file: name,
          case: c.name,
          passed: ok,
          ...(ok ? {} : { mismatches: lines }),
          ...(refused === undefined ? {} : { refused }),
          ...(run ? { run } : {}),
        });
        if (context.json) continue;
        context.out.line(`${ok ? 'PASS' : 'FAIL'} ${label}`);
        for (const line of lines) context.out.line(`    ${line}`);
      }
    }
    if (context.json) context.out.line(JSON.stringify({ passed, failed, cases: report }));
    else context.out.line(`${passed} passed, ${failed} failed`);
    return failed > 0 ? ExitCode.runFailed : ExitCode.ok;
  },
};
