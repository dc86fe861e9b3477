// Lint: typescript-eslint's recommended rules everywhere, and the purity fence around shared/core:
// the core takes plain objects and returns plain objects, so it may not reach a client, a server,
// a logger, the environment, the clock or the filesystem (see docs/design.md). Production code never
// imports @kubernetes/client-node statically: it adds about 70 MB to a process, so it is loaded
// with `await import()` for credential plugins only (shared/kube/plugin-credentials.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impureModules = [
  '@kubernetes/client-node',
  'fastify',
  'pino',
  'prom-client',
  'node-forge',
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'http',
  'node:http',
  'https',
  'node:https',
  'net',
  'node:net',
  'child_process',
  'node:child_process',
  'process',
  'node:process',
  'os',
  'node:os',
  'timers',
  'node:timers',
  'timers/promises',
  'node:timers/promises',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.tap/', 'test/cluster/go/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // Typed rules (the type checker behind them): a promise is awaited, returned, or marked
    // `void` on purpose, and never handed to something that expects a plain callback. Test files
    // are left out: tap's top-level t.test() calls return promises that tap itself awaits.
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['bin/**/*.ts', 'shared/**/*.ts', 'webhook/**/*.ts', 'watcher/**/*.ts', 'certs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@kubernetes/client-node', message: 'About 70 MB: load it with await import() where a credential plugin needs it.' }] },
      ],
    },
  },
  {
    files: ['shared/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: impureModules.map((name) => ({ name, message: 'shared/core is pure: no I/O, logger, env or clock.' })) }],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'shared/core is pure: pass configuration in.' },
        { name: 'setTimeout', message: 'shared/core is pure: no timers.' },
        { name: 'setInterval', message: 'shared/core is pure: no timers.' },
        { name: 'fetch', message: 'shared/core is pure: no I/O.' },
        { name: 'console', message: 'shared/core is pure: return values, do not log.' },
        { name: 'performance', message: 'shared/core is pure: no clock.' },
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'shared/core is pure: no clock.' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'shared/core is pure: no clock (a Date of a given time is fine).' },
      ],
    },
  },
);
