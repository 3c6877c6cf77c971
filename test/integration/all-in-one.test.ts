/**
 * `npm start`'s program (src/main.ts) as a user runs it: embedded PostgreSQL and Temporal dev server,
 * a worker and the API in one process. Ctrl-C stops everything it started, including a harness in
 * the middle of a run; started again on the same data dir, the job carries on and the interrupted
 * run completes as a new attempt.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, readSse, upload, waitForJob } from '../helpers/api-client.js'
import { freePort } from '../helpers/ports.js'
import { HARBOR_ENV_PLUGIN_DIR, TEST_ENVIRONMENT } from '../helpers/service.js'
import { slowTask } from '../helpers/task-zips.js'

let dataDir: string
let env: Record<string, string>
let apiUrl: string
let uiPort: number
let main: ResultPromise | null = null

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hr-main-'))
  const apiPort = await freePort()
  uiPort = await freePort()
  apiUrl = `http://127.0.0.1:${apiPort}`
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DATA_DIR: dataDir,
    API_PORT: String(apiPort),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(uiPort),
    HARNESS_PYTHONPATH: HARBOR_ENV_PLUGIN_DIR,
    DEFAULT_ENVIRONMENT: TEST_ENVIRONMENT,
    LOG_LEVEL: 'warn',
  }
})
afterAll(async () => {
  main?.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

/**
 * Starts src/main.ts (one process, no wrapper) and waits for its "up" banner. (Wrapped: an async
 * function returning the subprocess, itself a promise, would wait for it to exit.)
 */
async function startMain(): Promise<{ process: ResultPromise }> {
  const child = execa(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'main.ts')], {
    cwd: PROJECT_ROOT,
    env,
    extendEnv: false,
    reject: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`main did not come up:\n${output}`)), 90_000)
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString()
      if (output.includes('Harbor Runner is up.')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    void child.then(() => reject(new Error(`main exited early:\n${output}`)))
  })
  return { process: child }
}

/** Processes on this machine whose command line mentions the data dir (embedded servers, harness). */
async function processesUsingDataDir(): Promise<string[]> {
  const found: string[] = []
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(dataDir)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ').slice(0, 200)}`)
  }
  return found
}

it('comes up, stops cleanly on Ctrl-C mid-run, and resumes the job when started again', async () => {
  main = (await startMain()).process
  expect((await getJson(apiUrl, '/api/health')).body).toEqual({ status: 'ok', database: 'ok', temporal: 'ok' })
  expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200) // the Temporal Web UI
  expect(await processesUsingDataDir()).not.toEqual([])

  const { status, body } = await upload(apiUrl, {
    file: await slowTask(8),
    filename: 'slow.zip',
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' },
  })
  expect(status).toBe(201)
  await readSse(`${apiUrl}/api/jobs/${body.job_id}/runs/1/logs/stream`, {
    stopWhen: (e) => e.event === 'log' && e.data.line === 'slow step 2/8',
  })

  // Ctrl-C: nothing it started may outlive it, the harness included.
  main.kill('SIGINT')
  expect((await main).exitCode).toBe(0)
  expect(await processesUsingDataDir()).toEqual([])

  // Started again on the same data dir, the interrupted run is retried as a new attempt and completes.
  main = (await startMain()).process
  const job = await waitForJob(apiUrl, body.job_id, (j) => j.status === 'completed', 120_000)
  expect(job.runs[0]).toMatchObject({ status: 'completed', outcome: 'passed', attempts: 2 })
  const run = (await getJson(apiUrl, `/api/jobs/${body.job_id}/runs/1`)).body
  expect(run.attempt_history[0]).toMatchObject({ attempt: 1, outcome: 'error', error_class: 'infra' })
  expect(run.attempt_history[1]).toMatchObject({ attempt: 2, outcome: 'passed' })

  const last = main
  main = null
  last.kill('SIGINT')
  expect((await last).exitCode).toBe(0)
  expect(await processesUsingDataDir()).toEqual([])
}, 300_000)
