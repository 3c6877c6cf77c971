/**
 * The Harbor job folders the export makes, opened by Harbor itself, the way a user would open them:
 * Harbor's models load every file of them and Harbor's own code computes the same job stats
 * (check_harbor_jobs.py), and `harbor view` lists the jobs, their trials and rewards, serves the
 * trials' collected files, and its web page.
 *
 * Two jobs in one jobs dir: a `harbor` job with a run of every kind (test/helpers/export-job.ts),
 * written into the directory; and a `terminus` job over a dataset of two tasks, every trial made
 * up from its run, streamed as a zip and unpacked there.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { buffer } from 'node:stream/consumers'
import { execa, type ResultPromise } from 'execa'
import JSZip from 'jszip'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { writeHarborJob, zipHarborJob, type HarborJobInput } from '../../src/export/harbor-job.js'
import type { ExportRun } from '../../src/export/input.js'
import { PROJECT_ROOT, VENV_BIN } from '../../src/paths.js'
import { artifactAttemptDir } from '../../src/shared/ids.js'
import { exportAttempt, exportJob, exportRun, exportTask, uuidOf } from '../helpers/export-inputs.js'
import { harborJobWithEveryKindOfRun, RUNS } from '../helpers/export-job.js'

const CHECK = path.join(PROJECT_ROOT, 'test', 'integration', 'check_harbor_jobs.py')
const TB_OUTPUT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tb-output', 'passed')
const env = { ...process.env, HARBOR_TELEMETRY: '0' }

let tmp: string
let jobsDir: string
let harborJob: HarborJobInput
let terminusJob: HarborJobInput
let viewer: ResultPromise | null = null

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-harbor-export-'))
  jobsDir = path.join(tmp, 'jobs')
  const artifactsDir = path.join(tmp, 'artifacts')
  harborJob = await harborJobWithEveryKindOfRun(artifactsDir)
  await writeHarborJob(harborJob, { artifactsDir, jobsDir })
  terminusJob = await terminusJobOverTwoTasks(artifactsDir)
  await unzip(await buffer(await zipHarborJob(terminusJob, { artifactsDir })), jobsDir)
})
afterAll(async () => {
  await stopViewer()
  await rm(tmp, { recursive: true, force: true })
})

/** Three runs of each task: the second task's first one a provider error beside a reward. */
async function terminusJobOverTwoTasks(artifactsDir: string): Promise<HarborJobInput> {
  const job = exportJob({
    id: uuidOf('0c0c', 2),
    harness: 'terminus',
    agent: 'terminus',
    agent_without_model: false,
    task_name: 'tb-mini',
    n_tasks: 2,
    n_runs: 6,
    runs_per_task: 3,
  })
  const tasks = [
    exportTask({ index: 0, name: 'tb-hello' }),
    exportTask({ index: 1, name: 'tb-other', sha256: 'cd'.repeat(32) }),
  ]
  const tokens = { n_input_tokens: 1000, n_cache_tokens: null, n_output_tokens: 50, cost_usd: null }
  const failed = { outcome: 'failed' as const, reward: 0, rewards: { reward: 0 } }
  const runs: ExportRun[] = [
    exportRun(job, 1, { id: uuidOf('c1', 1), ...tokens }),
    exportRun(job, 2, { id: uuidOf('c1', 2), ...failed, error_message: 'agent_timeout' }),
    exportRun(job, 3, { id: uuidOf('c1', 3) }),
    exportRun(job, 4, {
      id: uuidOf('c1', 4),
      task_index: 1,
      outcome: 'error',
      error_class: 'provider',
      error_message: 'RateLimitError',
    }),
    exportRun(job, 5, { id: uuidOf('c1', 5), task_index: 1, ...tokens }),
    exportRun(job, 6, { id: uuidOf('c1', 6), task_index: 1, ...failed }),
  ]
  const results = await readFile(path.join(TB_OUTPUT, 'passed', 'results.json'), 'utf8')
  const attempts = runs.map((run) => exportAttempt(run, { result: JSON.parse(results) as object }))
  const collected = path.join(artifactsDir, artifactAttemptDir(job.id, 1, 1))
  await mkdir(path.join(collected, 'tb-runs'), { recursive: true })
  await cp(path.join(TB_OUTPUT, 'passed'), path.join(collected, 'tb-runs', 'passed'), { recursive: true })
  await writeFile(path.join(collected, 'harness.stderr.txt'), '')
  return { job, tasks, runs, attempts }
}

async function unzip(zip: Buffer, dir: string): Promise<void> {
  const archive = await JSZip.loadAsync(zip)
  for (const file of Object.values(archive.files)) {
    if (file.dir) continue
    await mkdir(path.dirname(path.join(dir, file.name)), { recursive: true })
    await writeFile(path.join(dir, file.name), await file.async('nodebuffer'))
  }
}

const trial = (name: string, run: number) => `${name}__r${String(run).padStart(6, '0')}`

it("loads with Harbor's models, and Harbor computes the same stats", async () => {
  const check = await execa(path.join(VENV_BIN, 'python'), [CHECK, jobsDir], { env, reject: false })
  expect(check.exitCode, check.stderr).toBe(0)
  const jobs = JSON.parse(check.stdout) as Record<string, { evals: Record<string, any>; trials: Record<string, any> }>
  expect(Object.keys(jobs).sort()).toEqual([harborJob.job.id, terminusJob.job.id].sort())

  const harbor = jobs[harborJob.job.id]!
  expect(Object.keys(harbor.trials)).toHaveLength(7)
  expect(harbor.trials[trial('hello-pass', RUNS.retriedPassed)]).toEqual({
    task_name: 'hello-pass',
    rewards: { reward: 1 },
    reward_valid: true,
    exception_type: null,
  })
  expect(harbor.trials[trial('hello-pass', RUNS.rateLimited)]).toMatchObject({ reward_valid: false })
  expect(harbor.trials[trial('hello-pass', RUNS.lost)]).toMatchObject({ exception_type: 'InfraError' })
  expect(harbor.evals['oracle__adhoc']).toMatchObject({ n_trials: 3, metrics: [{ mean: 2 / 3 }] })

  const terminus = jobs[terminusJob.job.id]!
  // Its reward is kept, and not counted: a provider's error makes it meaningless, as in our metrics.
  expect(terminus.trials[trial('tb-other', 4)]).toEqual({
    task_name: 'tb-other',
    rewards: { reward: 1 },
    reward_valid: false,
    exception_type: 'ProviderError',
  })
  // Valid rewards: tb-hello 1, 0, 1 and tb-other 1, 0, so pass@2 = (1 + 1) / 2.
  // The dataset's trials are keyed by it, as Harbor keys a dataset's.
  expect(Object.keys(terminus.evals)).toEqual(['terminus__openai/gpt-4o__tb-mini'])
  expect(terminus.evals['terminus__openai/gpt-4o__tb-mini']).toMatchObject({
    n_trials: 5,
    n_errors: 2,
    metrics: [{ mean: 0.6 }],
    pass_at_k: { '2': 1 },
  })
}, 60_000)

it('is listed by `harbor view` with its trials and their rewards', async () => {
  const base = await startViewer()
  const get = async (p: string) => {
    const res = await fetch(`${base}${p}`)
    expect(res.status, p).toBe(200)
    return (await res.json()) as any
  }

  const jobs = (await get('/api/jobs')).items as any[]
  expect(jobs.map((j) => j.name).sort()).toEqual([harborJob.job.id, terminusJob.job.id].sort())
  const listed = jobs.find((j) => j.name === harborJob.job.id)
  expect(listed).toMatchObject({ n_total_trials: 9, n_completed_trials: 7, n_errored_trials: 4, agents: ['oracle'] })
  expect(listed.evals['oracle__adhoc'].metrics).toEqual([{ mean: 2 / 3 }])

  const rewards = async (job: string) =>
    Object.fromEntries(
      ((await get(`/api/jobs/${job}/trials?page_size=100`)).items as any[]).map((t) => [t.name, t.reward]),
    )
  expect(await rewards(harborJob.job.id)).toEqual({
    [trial('hello-pass', RUNS.passed)]: 1,
    [trial('hello-pass', RUNS.failed)]: 0,
    [trial('hello-pass', RUNS.retriedPassed)]: 1,
    [trial('hello-pass', RUNS.rateLimited)]: null,
    [trial('hello-pass', RUNS.cancelled)]: null,
    [trial('hello-pass', RUNS.lost)]: null,
    [trial('hello-pass', RUNS.neverStarted)]: null,
  })
  expect(await rewards(terminusJob.job.id)).toEqual({
    [trial('tb-hello', 1)]: 1,
    [trial('tb-hello', 2)]: 0,
    [trial('tb-hello', 3)]: 1,
    [trial('tb-other', 4)]: null,
    [trial('tb-other', 5)]: 1,
    [trial('tb-other', 6)]: 0,
  })

  // A trial's collected files, as the viewer shows them.
  const passed = `/api/jobs/${harborJob.job.id}/trials/${trial('hello-pass', RUNS.passed)}`
  expect((await get(`${passed}/verifier-output`)).stdout).toContain('PASS')
  expect((await get(`${passed}/agent-logs`)).oracle).toContain('wrote /app/hello.txt')
  const tbFiles = (await get(`/api/jobs/${terminusJob.job.id}/trials/${trial('tb-hello', 1)}/files`)) as any[]
  expect(tbFiles.map((f) => f.path)).toContain('tb-runs/passed/results.json')

  // Its shared read of the folder needs every trial's lock.json.
  expect((await get('/api/source/rollouts?page_size=100')).items).toHaveLength(13)

  const page = await fetch(`${base}/`)
  expect(page.headers.get('content-type')).toContain('text/html')
  await stopViewer()
}, 60_000)

/** `harbor view` on the jobs dir, on the first free port of its default range; its base URL. */
async function startViewer(): Promise<string> {
  const child = execa(path.join(VENV_BIN, 'harbor'), ['view', jobsDir, '--port', '8080-8089', '--jobs'], {
    env,
    reject: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  viewer = child
  let output = ''
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`harbor view did not come up:\n${output}`)), 45_000)
    const read = (d: Buffer) => {
      output += d.toString()
      const url = /Uvicorn running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
      if (url) {
        clearTimeout(timer)
        resolve(url)
      }
    }
    child.stdout!.on('data', read)
    child.stderr!.on('data', read)
    void child.then(() => reject(new Error(`harbor view exited:\n${output}`)))
  })
  expect(await (await fetch(`${base}/api/health`)).json()).toEqual({ status: 'ok' })
  return base
}

/** Stops the viewer as Ctrl-C would (it then removes its index of the folder), else kills it. */
async function stopViewer(): Promise<void> {
  if (!viewer) return
  const child = viewer
  viewer = null
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await child
  clearTimeout(timer)
}
