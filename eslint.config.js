// Lint: typed rules everywhere, determinism enforced by tooling in workflow code, and ARCHITECTURE.md's
// "Who may import whom" enforced per folder of src/.
import { builtinModules } from 'node:module'
import tseslint from 'typescript-eslint'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]

/** Every top-level folder and module of src/ (a module by its name without `.ts`). */
const SRC = [
  'activities',
  'api',
  'config',
  'db',
  'doctor',
  'export',
  'harness',
  'hosts',
  'logger',
  'logs',
  'main',
  'metrics',
  'observability',
  'outcomes',
  'paths',
  'runners',
  'runtime',
  'secrets',
  'services',
  'shared',
  'tasks',
  'temporal',
  'token',
  'worker',
  'workflows',
]

/**
 * What code in `src/<folder>/` may import from the rest of src/: `imports` it may import anything
 * of, `types` only types of, and for a module of which it may import only some files, `files`
 * (module → its files, e.g. `{ harness: ['registry'] }`); anything else of src/ is refused, types
 * included. Relative imports are matched by their depth, so that a sibling folder's name inside
 * the folder is never taken for a module of src/. `extra` adds to the rule (Node built-ins, …), or
 * a function of the depth gives what to add.
 */
function layer(folder, { imports = [], types = [], files = {}, message, extra = {}, ignores = [] }) {
  const others = SRC.filter((m) => m !== folder)
  const forbidden = others.filter((m) => !imports.includes(m) && !types.includes(m) && !(m in files))
  const typesOnly = others.filter((m) => types.includes(m) && !imports.includes(m) && !(m in files))
  const text = `${message} (ARCHITECTURE.md, "Who may import whom")`
  return [0, 1, 2, 3].map((depth) => {
    const more = typeof extra === 'function' ? extra(depth) : extra
    const up = `^(\\.\\./){${depth + 1}}`
    const modules = (list) => `${up}(${list.join('|')})(/|\\.js$)`
    const patterns = []
    if (forbidden.length > 0) patterns.push({ regex: modules(forbidden), message: text })
    if (typesOnly.length > 0) patterns.push({ regex: modules(typesOnly), allowTypeImports: true, message: text })
    for (const [module, allowed] of Object.entries(files)) {
      const except = allowed.map((f) => `${f}\\.js$`).join('|')
      patterns.push({ regex: `${up}${module}/(?!${except})`, allowTypeImports: true, message: text })
    }
    return {
      files: [`src/${folder}/${'*/'.repeat(depth)}*.ts`],
      ignores,
      rules: {
        'no-restricted-imports': [
          'error',
          { paths: more.paths ?? [], patterns: [...patterns, ...(more.patterns ?? [])] },
        ],
      },
    }
  })
}

/** Workflow code (and what it imports) is replayed, so it is deterministic: no Node, no other Temporal packages. */
const deterministic = {
  paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
  patterns: [
    {
      group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
      message: 'Use @temporalio/workflow.',
    },
  ],
}

const SEPARATE = 'and nothing else of src/'

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
    // The configuration is read in one place; everything else is handed what it needs.
    files: ['src/**/*.ts', 'src/**/*.mjs'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only src/config.ts reads the environment; pass values down.' },
      ],
    },
  },
  ...layer('shared', {
    message: `src/shared is pure: it imports nothing of src/ but itself`,
    extra: deterministic,
  }),
  ...layer('outcomes', {
    imports: ['shared'],
    message: `src/outcomes is pure: it imports src/shared ${SEPARATE}`,
    extra: deterministic,
  }),
  ...layer('workflows', {
    imports: ['shared', 'outcomes'],
    types: SRC,
    message: 'Workflow code imports src/shared and src/outcomes, and only types from elsewhere',
    extra: deterministic,
  }),
  ...layer('activities', {
    imports: [
      'db',
      'harness',
      'hosts',
      'logs',
      'runners',
      'secrets',
      'metrics',
      'observability',
      'outcomes',
      'shared',
      'logger',
    ],
    types: ['config'],
    message: 'src/activities never imports the API, the runtime, the workflows or the task store',
  }),
  ...layer('api', {
    imports: ['db', 'tasks', 'secrets', 'metrics', 'observability', 'shared', 'config', 'export'],
    types: ['workflows'],
    files: { harness: ['registry', 'harness'] },
    message: `src/api imports db, tasks, secrets, metrics, observability, shared, config, export, the harness registry, and workflow types ${SEPARATE}`,
    // app.ts imports the routes: they take what they are built over from deps.ts.
    extra: {
      patterns: [{ regex: '^(\\./|\\.\\./)app\\.js$', message: 'Routes take AppDeps from deps.ts, not app.ts.' }],
    },
    // The API's own process entrypoint wires it up like the others.
    ignores: ['src/api/server.ts'],
  }),
  ...layer('db', {
    imports: ['shared'],
    types: ['harness', 'metrics', 'secrets'],
    message: `src/db imports src/shared, and types from harness, metrics and secrets, ${SEPARATE}`,
  }),
  ...layer('harness', {
    imports: ['shared', 'outcomes', 'logs', 'tasks'],
    types: ['db', 'hosts', 'runners'],
    message: `src/harness imports shared, outcomes, logs and tasks, and types from db, hosts and runners, ${SEPARATE}`,
    // A harness's folder knows the shared modules of src/harness/, never another harness's folder.
    extra: (depth) =>
      depth === 1
        ? { patterns: [{ regex: '^\\.\\./[^./][^/]*/', message: "A harness's folder never imports another's." }] }
        : {},
  }),
  ...layer('export', {
    imports: ['shared', 'metrics'],
    types: ['db'],
    message: `src/export imports shared and metrics, and the table types of src/db/schema.ts, ${SEPARATE}`,
    // Of the database, the table types only: an export is made from rows it is handed.
    extra: (depth) => ({
      patterns: [
        {
          regex: `^(\\.\\./){${depth + 1}}db/(?!schema\\.js$)`,
          message: 'src/export knows the database by its table types only (src/db/schema.ts).',
        },
      ],
    }),
  }),
  ...layer('logs', {
    imports: ['db', 'hosts', 'shared'],
    message: `src/logs imports db, hosts and shared ${SEPARATE}`,
  }),
  ...['hosts', 'tasks', 'metrics', 'secrets'].flatMap((leaf) =>
    layer(leaf, { imports: ['shared'], message: `src/${leaf} is a leaf: it imports src/shared ${SEPARATE}` }),
  ),
  ...layer('runners', {
    imports: ['hosts', 'shared'],
    types: ['logger'],
    message: `src/runners imports hosts and shared, and the logger's type, ${SEPARATE}`,
  }),
  ...layer('observability', {
    imports: ['shared'],
    types: ['db'],
    message: `src/observability imports src/shared, and types from db, ${SEPARATE}`,
  }),
  ...layer('temporal', {
    imports: ['shared'],
    types: ['config', 'workflows'],
    message: `src/temporal imports src/shared, and types from config and workflows, ${SEPARATE}`,
  }),
  ...layer('services', {
    imports: ['shared'],
    message: `src/services imports src/shared ${SEPARATE}`,
  }),
  {
    // Only the runtime and the entrypoints read the configuration; everything else is handed it.
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/**', 'src/config.ts', 'src/*.ts', 'src/api/server.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value=/config\\.js$/] ImportSpecifier[imported.name='loadConfig']",
          message: 'Only the runtime and the entrypoints load the configuration; pass it down.',
        },
      ],
    },
  },
  {
    // Frozen in time: a migration never changes with the code.
    files: ['migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./src/', message: 'Migrations import nothing from src/.' }] },
      ],
    },
  },
  {
    // The dashboard runs in the browser and knows the API only by its HTTP shapes.
    files: ['web/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'The dashboard runs in the browser.' })),
          patterns: [
            {
              regex: '^\\.\\./\\.\\./(src|test|scripts|migrations)/',
              message: 'web/src imports nothing outside web/src.',
            },
            { regex: '^\\.\\./\\.\\./\\.\\./', message: 'web/src imports nothing outside web/src.' },
          ],
        },
      ],
    },
  },
  {
    // Workflow code is replayed and must be deterministic; shared and outcomes modules are imported by it.
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts', 'src/outcomes/**/*.ts'],
    rules: {
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
