/**
 * The API as a Hono app over a fresh test database and data dir, for route tests through
 * `app.request()`: no HTTP server, no Temporal (the job starter is the test's to script), no token
 * (open mode), and no harness checks unless given a task checker (`taskChecker()`: the real one of the
 * project's .venv, with the harnesses' own task models). Given the options, it converts tasks with the
 * harnesses' CLIs (`harnessBins`) and checks tokens in the database (`tokens`).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Hono } from 'hono'
import { createApp } from '../../src/api/app.js'
import type { AppEnv } from '../../src/api/auth.js'
import { loadConfig, type Config } from '../../src/config.js'
import { VENV_BIN } from '../../src/paths.js'
import { TaskChecker, toolEnvironment } from '../../src/tasks/harness-checks.js'
import { anyActiveToken, authenticate, findActiveToken, hashToken } from '../../src/db/tokens.js'
import type { HarnessName } from '../../src/harness/registry.js'
import { localHarnessBins } from '../../src/runtime/hosts.js'
import type { JobWorkflowInput } from '../../src/workflows/job-workflow.js'
import type { RetriedRun } from '../../src/shared/job-control.js'
import { createTestDatabase, type TestDatabase } from './test-db.js'

export interface TestApp {
  app: Hono<AppEnv>
  config: Config
  db: TestDatabase
  /** The key job secrets are sealed with. */
  masterKey: Buffer
  /** Every job the app asked to start, in order. */
  started: JobWorkflowInput[]
  /** How a start goes (after it is recorded in `started`); succeeds unless a test replaces it. */
  start: (input: JobWorkflowInput) => Promise<void>
  /** Every job the app asked to cancel, in order. */
  cancelled: string[]
  /** How a pause or resume goes; succeeds unless a test replaces it. */
  setPaused: (jobId: string, paused: boolean, requestId?: string) => Promise<void>
  /** How a retry goes; by default every run asked is retried once, from attempt 2. */
  retry: (input: JobWorkflowInput, runNumbers: number[], requestId?: string) => Promise<RetriedRun[]>
  /** Whether Temporal answers (the health check); it does unless a test replaces this. */
  ping: () => Promise<boolean>
  /** Errors the app logged as unexpected. */
  logged: unknown[]
  close(): Promise<void>
}

export interface TestAppOptions {
  /** A data dir to use (left in place on close, e.g. a mount point) instead of a fresh temp dir. */
  dataDir?: string
  /** Checks uploaded tasks as the API does where the harnesses are installed (the caller closes it). */
  taskChecker?: TaskChecker
  /** The harnesses' CLIs, for conversions (`local`: those of the project's .venv); none by default. */
  harnessBins?: Partial<Record<HarnessName, string>> | 'local'
  /** Tokens checked in the test database (made with `createToken`); by default none: open mode. */
  tokens?: 'database'
}

/** The task checker of the project's .venv (a Python process: a few seconds to start; share it). */
export function taskChecker(): TaskChecker {
  const { path: toolPath, home } = loadConfig({}).harness
  return new TaskChecker(path.join(VENV_BIN, 'python'), toolEnvironment({ path: toolPath, home }))
}

export async function createTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'hr-test-app-')))
  const db = await createTestDatabase()
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...env })
  const masterKey = randomBytes(32)
  const test: TestApp = {
    app: null as unknown as Hono<AppEnv>,
    config,
    db,
    masterKey,
    started: [],
    start: async () => {},
    cancelled: [],
    setPaused: async () => {},
    retry: async (_input, runNumbers) => runNumbers.map((runNumber) => ({ runNumber, retry: 1, firstAttempt: 2 })),
    ping: async () => true,
    logged: [],
    async close() {
      await db.drop()
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
  test.app = createApp({
    config,
    db: db.db,
    masterKey,
    jobs: {
      start: (input) => {
        test.started.push(input)
        return test.start(input)
      },
      cancel: async (jobId) => void test.cancelled.push(jobId),
      setPaused: (...args) => test.setPaused(...args),
      retry: (...args) => test.retry(...args),
      ping: () => test.ping(),
    },
    notifier: {
      wait: (_runId, timeoutMs) => new Promise((resolve) => setTimeout(resolve, timeoutMs)),
      subscribe: () => () => {},
      close: async () => {},
    },
    tokens:
      options.tokens === 'database'
        ? {
            authenticate: (token) => authenticate(db.db, hashToken(token)),
            anyActive: () => anyActiveToken(db.db),
            findActive: (id) => findActiveToken(db.db, id),
            close: async () => {},
          }
        : {
            authenticate: async () => undefined,
            anyActive: async () => false,
            findActive: async () => undefined,
            close: async () => {},
          },
    runWatch: { open: () => () => {}, close: () => {} },
    taskChecker: options.taskChecker ?? null,
    harnessCatalog: async () => ({}),
    harnessBins: options.harnessBins === 'local' ? localHarnessBins(config) : (options.harnessBins ?? {}),
    openModeAllowed: true,
    logError: (err) => test.logged.push(err),
  })
  return test
}

/** POST /api/upload of `file` (a task zip) with `fields`, through the app. */
export async function uploadTo(
  app: Hono<AppEnv>,
  file: Buffer,
  fields: Record<string, string>,
): Promise<{ status: number; body: any }> {
  const form = new FormData()
  form.append('file', new Blob([file], { type: 'application/zip' }), 'task.zip')
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  const res = await app.request('/api/upload', { method: 'POST', body: form })
  return { status: res.status, body: await res.json() }
}
