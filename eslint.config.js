// ESLint flat config. The important part is the determinism fence: `interpreter/` and
// `workflows/` run inside Temporal's deterministic sandbox (or must be pure), so Node
// built-ins and side-effecting packages are banned there and a mistake fails CI instead of
// a production replay.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));
const sideEffectingPackages = [
  'express',
  'better-sqlite3',
  'pg',
  'pino',
  'openai',
  'nats',
  'redis',
  'ioredis',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

const deterministicPaths = (extraPatterns) => ({
  paths: [...nodeBuiltins, ...sideEffectingPackages].map((name) => ({
    name,
    message: 'Workflow and interpreter code must stay deterministic: no Node built-ins or I/O packages here.',
  })),
  patterns: [{ group: ['node:*'], message: 'Node built-ins are not allowed in deterministic code.' }, ...extraPatterns],
});

// The layers, bottom up: interpreter/ (pure: imports nothing of ours but itself); src/shared/
// (what several layers share: tenant ids, canonical JSON, search attribute keys, HttpError; on
// interpreter/ only); workflows/ (on interpreter/, and types from activities/, below) and
// activities/ (on interpreter/ and src/shared/, types from workflows/); the services in src/
// (access control, store, Temporal wiring, codec, templates, telemetry, metrics, config); and on
// top the processes that wire them (gateway, worker, CLIs, client, replay, cluster). An import may only
// point down: what two layers need goes down into src/shared/, and activities get the rest
// injected. studio/ talks to the gateway over HTTP only. Type-only imports between workflows/ and
// activities/ (each names the other's argument types) are allowed by no-restricted-imports below,
// since no-restricted-paths cannot tell type imports apart.
const processes = ['gateway', 'worker', 'cli', 'client', 'replay', 'cluster'];
const layerZones = [
  {
    target: './interpreter',
    from: ['./src', './workflows', './activities', './test', './studio'],
    message: 'interpreter/ is the bottom layer: it imports nothing of ours but itself.',
  },
  {
    target: './src/shared',
    from: './src',
    except: ['./shared'],
    message: 'src/shared/ is a bottom layer: it may import interpreter/ and itself only.',
  },
  {
    target: './src/shared',
    from: ['./workflows', './activities', './test', './studio'],
    message: 'src/shared/ is a bottom layer: it may import interpreter/ and itself only.',
  },
  {
    target: './workflows',
    from: ['./src', './test', './studio'],
    message: 'workflows/ may import interpreter/ (and types from activities/), nothing from src/.',
  },
  {
    target: './activities',
    from: './src',
    except: ['./shared'],
    message:
      'activities/ may import interpreter/ and src/shared/ only: move what they share with src/ into src/shared/, or have the worker inject it.',
  },
  {
    target: './activities',
    from: ['./test', './studio'],
    message: 'activities/ may import interpreter/ and src/shared/ only.',
  },
  {
    target: ['./src/*.ts', `./src/!(${processes.join('|')})/**`],
    from: processes.map((name) => `./src/${name}`),
    message: `The services in src/ sit below the processes (${processes.join(', ')}): move what both need into src/shared/.`,
  },
  {
    target: './studio',
    from: ['./src', './workflows', './activities', './test'],
    message: 'studio/ uses the public gateway API only, over HTTP.',
  },
  {
    // One exception: the table of where the language reads expressions, pure data with no imports.
    target: './studio',
    from: './interpreter',
    except: ['./expression-pointers.ts'],
    message: 'studio/ uses the public gateway API only, over HTTP.',
  },
];

export default tseslint.config(
  { ignores: ['dist*/**', 'node_modules/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'studio/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    // TypeScript sources import each other as `.js` (NodeNext): resolve those to the `.ts` files,
    // or import-x finds no module and checks no cycle at all.
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'], extensionAlias: { '.js': ['.ts', '.js'] } }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/test return promises the runner itself tracks.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'test', 'it', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Tests read JSON off the wire and assert on its shape; typing every response adds nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        deterministicPaths([
          {
            group: ['**/activities/**'],
            allowTypeImports: true,
            message: 'Workflow code may import only types from activities/ (activities run outside the sandbox).',
          },
        ]),
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows/**'],
              allowTypeImports: true,
              message: 'activities/ may import only types from workflows/ (workflow code runs in the sandbox).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['interpreter/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        deterministicPaths([
          { group: ['@temporalio/*'], message: 'The interpreter is pure: it knows nothing of Temporal.' },
        ]),
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'No timers in the interpreter.' },
        { name: 'setInterval', message: 'No timers in the interpreter.' },
        { name: 'process', message: 'No process access in the interpreter.' },
        { name: 'fetch', message: 'No I/O in the interpreter.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'No clock in the interpreter: use the run context.' },
        { object: 'Math', property: 'random', message: 'No randomness in the interpreter.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'No clock in the interpreter.' },
      ],
    },
  },
);
