/**
 * ARCHITECTURE.md's "Who may import whom", as the tooling enforces it: ESLint refuses the imports
 * the rules forbid (and lets the allowed ones through), only src/config.ts reads the environment,
 * and no module of src/ or web/src/ imports itself back through others, types included.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ESLint } from 'eslint'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../../src/paths.js'

/** The restriction rules only (the typed ones need files on disk, and say nothing of imports). */
const eslint = new ESLint({
  cwd: PROJECT_ROOT,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId.startsWith('no-restricted-'),
})

/** The messages ESLint has for `code` as the file at `file` (relative to the project). */
async function refusals(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(PROJECT_ROOT, file) })
  return result!.messages.map((m) => m.message)
}

describe('the import rules', () => {
  it.each([
    [
      'a route, a value of a harness',
      'src/api/routes/logs.ts',
      "import { PHASE_OF_EVENT } from '../../harness/harbor/phases.js'",
    ],
    ['a route, the project paths', 'src/api/routes/web.ts', "import { PROJECT_ROOT } from '../../paths.js'"],
    ['a route, the module that imports it', 'src/api/routes/jobs.ts', "import type { AppDeps } from '../app.js'"],
    ['the API, a host', 'src/api/lookups.ts', "import { LocalHost } from '../hosts/local-host.js'"],
    ['a harness, a host', 'src/harness/harbor/driver.ts', "import { LocalHost } from '../../hosts/local-host.js'"],
    ['a harness, the database', 'src/harness/terminus/driver.ts', "import { findRunById } from '../../db/runs.js'"],
    [
      'a harness, another harness',
      'src/harness/terminus/result.ts',
      "import { usefulTail } from '../harbor/result.js'",
    ],
    [
      'the log machinery, a harness',
      'src/logs/follower.ts',
      "import type { HarnessDriver } from '../harness/driver.js'",
    ],
    ['a host, the configuration', 'src/hosts/local-host.ts', "import type { Config } from '../config.js'"],
    ['a host, the project paths', 'src/hosts/inspect.ts', "import { VENV_BIN } from '../paths.js'"],
    ['the runners, the database', 'src/runners/runner-pool.ts', "import type { Db } from '../db/database.js'"],
    ['a workflow, the database', 'src/workflows/run-workflow.ts', "import { findRun } from '../db/runs.js'"],
    ['a workflow, Node', 'src/workflows/run-group.ts', "import fs from 'node:fs'"],
    ['the outcomes, a harness', 'src/outcomes/harbor.ts', "import type { HarnessDriver } from '../harness/driver.js'"],
    ['a shared module, the outcomes', 'src/shared/outcome.ts', "import { isRetryable } from '../outcomes/retry.js'"],
    ['the task store, a harness', 'src/tasks/task-store.ts', "import { HARNESSES } from '../harness/registry.js'"],
    [
      'a migration, src/',
      'migrations/2026_12_06_001000_add_run_log_line_phase.ts',
      "import { HARNESSES } from '../src/harness/registry.js'",
    ],
    ['the dashboard, src/', 'web/src/pages/upload.ts', "import { HARNESSES } from '../../../src/harness/registry.js'"],
    ['a route, loadConfig', 'src/api/routes/health.ts', "import { loadConfig } from '../../config.js'"],
    ['an export, a repository', 'src/export/harbor-job.ts', "import { listRuns } from '../db/runs.js'"],
    ['an export, a repository type', 'src/export/input.ts', "import type { Db } from '../db/database.js'"],
    ['an export, the API', 'src/export/run-rows.ts', "import { ApiError } from '../api/errors.js'"],
    [
      'an export, a workflow',
      'src/export/harbor-job.ts',
      "import type { JobInput } from '../workflows/job-workflow.js'",
    ],
  ])('refuses %s', async (_name, file, code) => {
    expect(await refusals(file, `${code}\nexport const x = 1\n`)).not.toEqual([])
  })

  it.each([
    [
      'a route, the harness registry',
      'src/api/routes/catalog.ts',
      "import { HARNESSES } from '../../harness/registry.js'",
    ],
    [
      'a route, a harness type',
      'src/api/routes/upload.ts',
      "import type { HarnessDriver } from '../../harness/driver.js'",
    ],
    [
      'a harness, a host type',
      'src/harness/harbor/driver.ts',
      "import type { ExecutionHost } from '../../hosts/execution-host.js'",
    ],
    [
      'a harness, the log machinery',
      'src/harness/harbor/driver.ts',
      "import { testCountsFromCtrf } from '../../logs/ctrf.js'",
    ],
    [
      'a harness, the outcomes',
      'src/harness/terminus/result.ts',
      "import { isRetryable } from '../../outcomes/retry.js'",
    ],
    [
      'a harness, the shared harness modules',
      'src/harness/terminus/result.ts',
      "import { usefulTail } from '../stderr-tail.js'",
    ],
    ['a workflow, the outcomes', 'src/workflows/run-workflow.ts', "import { isRetryable } from '../outcomes/retry.js'"],
    [
      'a workflow, an activity type',
      'src/workflows/run-workflow.ts',
      "import type { JobActivities } from '../activities/job-activities.js'",
    ],
    ['the runtime, anything', 'src/runtime/hosts.ts', "import { loadConfig } from '../config.js'"],
    ['an export, the table types', 'src/export/input.ts', "import type { RunRow } from '../db/schema.js'"],
    [
      'an export, the metrics',
      'src/export/run-rows.ts',
      "import { computeJobMetrics } from '../metrics/job-metrics.js'",
    ],
    ['a route, the exports', 'src/api/routes/jobs.ts', "import { toCsv } from '../../export/run-rows.js'"],
  ])('lets through %s', async (_name, file, code) => {
    expect(await refusals(file, `${code}\nexport const x = 1\n`)).toEqual([])
  })

  it('lets only src/config.ts read the environment', async () => {
    const code = 'export const path = process.env.PATH\n'
    for (const file of ['src/tasks/harness-checks.ts', 'src/paths.ts', 'src/services/embedded-postgres.ts'])
      expect(await refusals(file, code), file).not.toEqual([])
    expect(await refusals('src/config.ts', code)).toEqual([])
  })

  it('passes on the sources as they are', async () => {
    const results = await eslint.lintFiles(['src', 'migrations', 'web/src'])
    const problems = results.flatMap((r) =>
      r.messages.map((m) => `${path.relative(PROJECT_ROOT, r.filePath)}: ${m.message}`),
    )
    expect(problems).toEqual([])
  })
})

describe('the import graph', () => {
  it('has no cycle in src/ or web/src/, types included', () => {
    const files = ['src', 'web/src'].flatMap((dir) =>
      readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(PROJECT_ROOT, dir, f)),
    )
    const imports = new Map(files.map((file) => [file, importsOf(file)]))
    expect(cycles(imports).map((c) => c.map((f) => path.relative(PROJECT_ROOT, f)).join(' -> '))).toEqual([])
  })
})

/** The files `file` imports (or re-exports from) by a relative path. */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  return source.statements.flatMap((s) => {
    if (!(ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) || !s.moduleSpecifier) return []
    const spec = (s.moduleSpecifier as ts.StringLiteral).text
    return spec.startsWith('.') ? [path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts')] : []
  })
}

/** One cycle through each strongly connected group of files (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const found: string[][] = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) visit(w)
      if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, low.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const group = stack.splice(stack.indexOf(v))
      if (group.length > 1) found.push([...group, v])
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}
