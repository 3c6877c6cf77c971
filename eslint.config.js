// Lint: typed rules everywhere, and determinism enforced by tooling in workflow code.
import { builtinModules } from 'node:module'
import tseslint from 'typescript-eslint'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]

export default tseslint.config(
  { ignores: ['node_modules/**', '.venv/**', '.data/**', 'dist/**', 'test/harbor-env/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Forgetting to await an activity, a query or a write is a bug.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // A host's trial runners know hosts and the protocol, nothing of the service around them.
    files: ['src/runners/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../db/*', '../api/*', '../activities/*', '../harness/*', '../runtime/*', '../workflows/*'],
              message: 'src/runners imports hosts and shared only (ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    // Execution hosts are leaves: what they need of the configuration is handed to them by the runtime.
    files: ['src/hosts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/config.js',
                '**/config/*',
                '**/paths.js',
                '**/db/*',
                '**/api/*',
                '**/activities/*',
                '**/harness/*',
                '**/runtime/*',
                '**/workflows/*',
              ],
              message:
                'src/hosts imports shared only; the runtime passes in configuration and paths (ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code is replayed and must be deterministic; shared modules are imported by it.
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
          patterns: [
            {
              group: [
                '../activities/*',
                '../db/*',
                '../api/*',
                '../hosts/*',
                '../harness/*',
                '../runtime/*',
                '../services/*',
              ],
              allowTypeImports: true,
              message: 'Workflow code imports only types from outside src/workflows and src/shared.',
            },
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              message: 'Use @temporalio/workflow.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflows never see the environment; pass values in the input.' },
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'require', message: 'Workflow code is bundled; import instead.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Non-deterministic; use uuid4() or pass values in.' },
        { object: 'Date', property: 'now', message: 'Non-deterministic outside the workflow sandbox clock.' },
        { object: 'crypto', property: 'randomUUID', message: 'Use uuid4() from @temporalio/workflow.' },
      ],
    },
  },
)
