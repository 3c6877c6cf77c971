/**
 * The whole service for an integration test: real PostgreSQL (a fresh database), the real Temporal
 * dev server, the real API over HTTP and a real worker running the real `harbor` CLI, whose trials
 * run through the test-only environment plugin (test/harbor-env) instead of Docker.
 *
 * Every test service gets its own database, task queue, data dir and host work dir, so test files
 * can share the Temporal server and run in parallel.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { inject } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import { installTemporalRuntime } from '../../src/runtime/process.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { startApiRuntime, type ApiRuntime } from '../../src/runtime/api-runtime.js'
import { createDb, migrateToLatest } from '../../src/db/database.js'
import { createWorkerRuntime, type WorkerRuntime } from '../../src/runtime/worker-runtime.js'
import { createTestDatabase, type TestDatabase } from './test-db.js'
import { testLogger } from './test-log.js'

export const TEST_ENVIRONMENT = 'harbor_runner_testenv:LocalSandboxEnvironment'
/**
 * The test agents and environments the suites name by import path (the default environment is
 * allowed as such): the fault environments of test/harbor-env, its probe agent, and the load agent.
 */
export const TEST_IMPORT_PATHS = [
  'harbor_runner_testenv:CrashFirstAttemptEnvironment',
  'harbor_runner_testenv:BrokenEnvironment',
  'harbor_runner_testenv.probe_agent:EnvProbeAgent',
  'harbor_load_agent:SleepingAgent',
]
export const HARBOR_ENV_PLUGIN_DIR = path.join(PROJECT_ROOT, 'test', 'harbor-env')

export interface TestService {
  config: Config
  env: Record<string, string>
  db: TestDatabase
  api: ApiRuntime
  /** The in-process worker, or null when started with `worker: false`. */
  worker: WorkerRuntime | null
  /** Starts a worker as a separate process (`src/worker.ts`) on the same queues, its env changed by `env`. */
  spawnWorker(env?: Record<string, string>): ResultPromise
  /** Starts the API as a separate process (`src/api/server.ts`) on `port`; `ready()` waits until it answers. */
  spawnApi(port: number): ApiProcess
  stop(): Promise<void>
}

export interface ApiProcess {
  url: string
  child: ResultPromise
  /** Resolves once the API answers /api/health (or rejects if the process exits first). */
  ready(timeoutMs?: number): Promise<void>
}

export interface TestServiceOptions {
  worker?: boolean
  env?: Record<string, string>
  /** An existing database to use (migrated here, left in place on stop) instead of a fresh one on the shared server. */
  databaseUrl?: string
  /** A Temporal server to use instead of the shared one. */
  temporalAddress?: string
  /** A data dir to use (left in place on stop, e.g. a mount point) instead of a fresh temp dir. */
  dataDir?: string
}

export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'hr-test-data-')))
  const db = options.databaseUrl ? await existingDatabase(options.databaseUrl) : await createTestDatabase()
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: options.temporalAddress ?? inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(4).toString('hex')}`,
    SECRETS_KEY: randomBytes(32).toString('base64'),
    API_HOST: '127.0.0.1',
    HOST_SLOTS: '4',
    HARNESS_PYTHONPATH: HARBOR_ENV_PLUGIN_DIR,
    DEFAULT_ENVIRONMENT: TEST_ENVIRONMENT,
    ALLOWED_IMPORT_PATHS: TEST_IMPORT_PATHS.join(','),
    LOG_LEVEL: 'warn',
    // Tests run the oracle: their runners need not import terminus-2 (LiteLLM) ahead of time.
    RUNNER_PRELOAD: 'none',
    ...options.env,
  }
  installTemporalRuntime({ logger: testLogger('warn', { component: 'temporal-sdk' }) })
  const config = loadConfig(env)
  // Printed only for a test that fails (test-log.ts): at info, the whole story of its runs.
  const logger = testLogger('info', { component: 'test' })
  const infra = {
    databaseUrl: db.url,
    temporalAddress: env.TEMPORAL_ADDRESS!,
    masterKey: config.secretsKey!,
  }
  const worker = options.worker === false ? null : await createWorkerRuntime({ config, logger, ...infra })
  const workerDone = worker?.run()
  const api = await startApiRuntime({ config, logger, ...infra, port: 0 })
  const children: ResultPromise[] = []

  return {
    config,
    env,
    db,
    api,
    worker,
    spawnWorker(extra = {}) {
      // One process (no npx/tsx wrapper), so that a SIGKILL in a test really kills the worker.
      const child = execa(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'worker.ts')], {
        cwd: PROJECT_ROOT,
        env: { ...env, ...extra },
        extendEnv: false,
        reject: false,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.push(child)
      return child
    },
    spawnApi(port) {
      const url = `http://127.0.0.1:${port}`
      const child = execa(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'api', 'server.ts')], {
        cwd: PROJECT_ROOT,
        env: { ...env, API_PORT: String(port) },
        extendEnv: false,
        reject: false,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.push(child)
      return { url, child, ready: (timeoutMs = 90_000) => waitUntilAnswering(url, child, timeoutMs) }
    },
    async stop() {
      await api.close()
      await worker?.shutdown()
      await workerDone
      for (const child of children) {
        child.kill('SIGKILL')
        await child.catch(() => undefined)
      }
      await db.drop()
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A database that exists already (e.g. on a test's own server): migrated, and only closed on drop. */
async function existingDatabase(url: string): Promise<TestDatabase> {
  const handle = createDb(url)
  await migrateToLatest(handle.db)
  return { ...handle, url, drop: () => handle.close() }
}

async function waitUntilAnswering(url: string, child: ResultPromise, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void child.finally(() => (exited = true))
  for (;;) {
    if (exited) throw new Error(`the API process exited before it answered: ${String((await child).stderr)}`)
    const res = await fetch(`${url}/api/health`).catch(() => null)
    if (res) return
    if (Date.now() > deadline) throw new Error(`the API did not answer at ${url} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
