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

const deterministicPaths = (extra) => ({
  paths: [...nodeBuiltins, ...sideEffectingPackages, ...extra].map((name) => ({
    name,
    message: 'Workflow and interpreter code must stay deterministic: no Node built-ins or I/O packages here.',
  })),
  patterns: [
    { group: ['node:*'], message: 'Node built-ins are not allowed in deterministic code.' },
    {
      group: ['**/src/**', '**/activities/**'],
      allowTypeImports: true,
      message: 'Deterministic code may import only types from process or side-effect code.',
    },
  ],
});

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
      '@typescript-eslint/no-restricted-imports': ['error', deterministicPaths([])],
    },
  },
  {
    files: ['interpreter/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          ...deterministicPaths([]),
          patterns: [
            ...deterministicPaths([]).patterns,
            { group: ['@temporalio/*'], message: 'The interpreter is pure: it knows nothing of Temporal.' },
            { group: ['**/workflows/**'], message: 'The interpreter may not depend on the workflow adapter.' },
          ],
        },
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
