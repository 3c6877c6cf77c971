/**
 * The whole service for a benchmark, as separate processes on throwaway embedded PostgreSQL and
 * Temporal dev server: the API and one worker per local host, in the test environment (no Docker
 * here), with the stand-in agent importable.
 */
import { execa, type ResultPromise } from 'execa'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, type Config } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { provideInfrastructure, type Infrastructure } from '../../src/runtime/infrastructure.js'
import { LOAD_AGENT, LOAD_AGENT_DIR } from '../../test/helpers/runners.js'
import { freePort } from '../../test/helpers/ports.js'

export const TEST_ENVIRONMENT = 'harbor_runner_testenv:LocalSandboxEnvironment'

export interface BenchService {
  base: string
  dataDir: string
  config: Config
  infra: Infrastructure
  api: ResultPromise
  workers: ResultPromise[]
  /** Resolves once every worker's host is announced available. */
  ready(): Promise<void>
  stop(): Promise<void>
}

export async function startBenchService(options: {
  workers: number
  slots: number
  /** Node's own flags for the API and the workers (e.g. --cpu-prof). */
  nodeArgs?: string[]
  env?: Record<string, string>
}): Promise<BenchService> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hr-bench-'))
  const apiPort = await freePort()
  const hosts = Array.from({ length: options.workers }, (_, i) => ({
    id: `load-${i + 1}`,
    slots: Math.ceil(options.slots / options.workers),
    work_dir: path.join(dataDir, 'work', `load-${i + 1}`),
  }))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DATA_DIR: dataDir,
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    API_PORT: String(apiPort),
    HOSTS: JSON.stringify(hosts),
    DEFAULT_ENVIRONMENT: TEST_ENVIRONMENT,
    ALLOWED_IMPORT_PATHS: LOAD_AGENT,
    HARNESS_PYTHONPATH: `${path.join(PROJECT_ROOT, 'test', 'harbor-env')}:${LOAD_AGENT_DIR}`,
    MAX_ACTIVE_JOBS_PER_TOKEN: '1000',
    MAX_ACTIVE_RUNS_PER_TOKEN: '100000',
    // The load's jobs are submitted at once and followed by many streams, all in open mode (one token).
    MAX_UPLOADS_PER_TOKEN: '1000',
    MAX_STREAMS_PER_TOKEN: '10000',
    LOG_LEVEL: 'warn',
    ...options.env,
  }
  const config = loadConfig(env)
  const infra = await provideInfrastructure(config, createLogger('warn', { component: 'bench' }), { embedded: true })
  const serviceEnv = {
    ...env,
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    SECRETS_KEY: infra.masterKey.toString('base64'),
  }
  const spawn = (entry: string, extra: Record<string, string> = {}): ResultPromise =>
    execa(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(PROJECT_ROOT, entry)], {
      cwd: PROJECT_ROOT,
      env: { ...serviceEnv, ...extra },
      extendEnv: false,
      reject: false,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  // A worker reads the logs of hundreds of harnesses: more of libuv's threads for file reads (as npm run start:worker).
  const workers = hosts.map((h) => spawn('src/worker.ts', { WORKER_HOSTS: h.id, UV_THREADPOOL_SIZE: '32' }))
  const api = spawn('src/api/server.ts')
  const base = `http://127.0.0.1:${apiPort}`
  return {
    base,
    dataDir,
    config,
    infra,
    api,
    workers,
    async ready() {
      for (let i = 0; ; i++) {
        const ok = await fetch(`${base}/api/hosts`)
          .then((r) => r.json() as Promise<{ hosts: { available: boolean }[] }>)
          .then((b) => b.hosts.filter((h) => h.available).length === hosts.length)
          .catch(() => false)
        if (ok) return
        if (i > 240) throw new Error('the service did not come up within 2 minutes')
        await new Promise((r) => setTimeout(r, 500))
      }
    },
    async stop() {
      api.kill('SIGTERM')
      for (const w of workers) w.kill('SIGTERM')
      await Promise.allSettled([api, ...workers])
      await infra.stop()
      // Runners and harnesses of runs that never finished are still writing there: stop them first.
      await execa('pkill', ['-f', dataDir], { reject: false })
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 })
    },
  }
}
