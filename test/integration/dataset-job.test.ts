/**
 * A dataset job and its control through the whole service: one upload of several task folders (two
 * Harbor tasks and a Terminal-Bench one that `harbor task migrate` converts) → one job of tasks ×
 * n_runs on the real workflows and the real `harbor` CLI; its per-task and dataset metrics; a retry
 * of an ended run, as a new attempt of the same run that reopens the ended job; pause and resume of a
 * running job; a re-run over the same stored tasks; and the comparison of the two jobs.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { jobWorkflowId, runRetryWorkflowId, runWorkflowId } from '../../src/shared/ids.js'
import { getJson, upload, waitForJob } from '../helpers/api-client.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { miniDataset, slowTask } from '../helpers/task-zips.js'

const TASKS = ['hello-fail', 'hello-pass', 'tb-hello']

let service: TestService
let temporal: Client
/** The dataset job, once it has ended, and its re-run. */
let datasetJob: any
let rerunJob: any

beforeAll(async () => {
  service = await startTestService()
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  await service?.stop()
  await temporal?.connection.close()
})

async function post(path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.api.url}${path}`, {
    method: 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any }
}

const job = async (id: string) => (await getJson(service.api.url, `/api/jobs/${id}`)).body
const run = async (id: string, n: number) => (await getJson(service.api.url, `/api/jobs/${id}/runs/${n}`)).body
const ended = (id: string, timeoutMs = 150_000) =>
  waitForJob(service.api.url, id, (j) => j.status === 'completed', timeoutMs)

/** The ids of the child workflows the job's (latest) workflow execution started. */
async function childWorkflowIds(jobId: string): Promise<string[]> {
  const history = await temporal.workflow.getHandle(jobWorkflowId(jobId)).fetchHistory()
  return (history.events ?? [])
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
    .filter((id): id is string => typeof id === 'string')
}

/** task name → the job's runs of it, as [outcome, reward] pairs. */
function outcomesByTask(j: any): Record<string, [string, number][]> {
  const out: Record<string, [string, number][]> = {}
  for (const r of j.runs) (out[j.tasks[r.task_index].name] ??= []).push([r.outcome, r.reward])
  return out
}

describe('a dataset of three tasks, each run twice', () => {
  let uploaded: any

  beforeAll(async () => {
    const res = await upload(service.api.url, {
      file: await miniDataset(),
      filename: 'mini.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', harness: 'harbor', n_runs: '2' },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    uploaded = res.body
    datasetJob = await ended(uploaded.job_id)
  }, 200_000)

  it('is one job of tasks × n_runs, the Terminal-Bench task converted for harbor', () => {
    expect(uploaded).toMatchObject({ task_name: 'mini', runs_queued: 6 })
    expect(datasetJob).toMatchObject({
      status: 'completed',
      harness: 'harbor',
      n_tasks: 3,
      n_runs: 6,
      runs_per_task: 2,
    })
    expect(datasetJob.tasks.map((t: any) => [t.name, t.format])).toEqual([
      ['hello-fail', 'harbor'],
      ['hello-pass', 'harbor'],
      ['tb-hello', 'terminal-bench'],
    ])
    for (const t of datasetJob.tasks) expect(t.sha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('runs each task twice: hello-pass and tb-hello pass, hello-fail fails', () => {
    for (const r of datasetJob.runs) expect(r).toMatchObject({ status: 'completed', attempts: 1, error_class: null })
    expect(outcomesByTask(datasetJob)).toEqual({
      'hello-fail': [
        ['failed', 0],
        ['failed', 0],
      ],
      'hello-pass': [
        ['passed', 1],
        ['passed', 1],
      ],
      'tb-hello': [
        ['passed', 1],
        ['passed', 1],
      ],
    })
  })

  it('gives each task its metrics, and the dataset the mean over tasks of their mean rewards', () => {
    const perTask = Object.fromEntries(datasetJob.tasks.map((t: any) => [t.name, t.metrics]))
    expect(perTask['hello-fail']).toMatchObject({ valid_n: 2, counts: { passed: 0, failed: 2 }, mean_reward: 0 })
    expect(perTask['hello-pass']).toMatchObject({ valid_n: 2, counts: { passed: 2, failed: 0 }, mean_reward: 1 })
    expect(perTask['tb-hello']).toMatchObject({ valid_n: 2, counts: { passed: 2, failed: 0 }, mean_reward: 1 })
    expect(datasetJob.dataset).toMatchObject({ n_tasks: 3, n_tasks_no_valid_run: 0, valid_n: 6 })
    expect(datasetJob.dataset.accuracy).toBeCloseTo(2 / 3, 10)
    expect(datasetJob.dataset.mean_reward_runs).toBeCloseTo(2 / 3, 10)
    expect(datasetJob.dataset.pass_at_k['1']).toBeCloseTo(2 / 3, 10)
    expect(datasetJob.metrics).toMatchObject({ valid_n: 6, counts: { passed: 4, failed: 2, error: 0 } })
  })

  it("starts one run workflow per run from the job's workflow", async () => {
    const children = await childWorkflowIds(datasetJob.job_id)
    expect(children.sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => runWorkflowId(datasetJob.job_id, n)).sort())
  })

  it('refuses to pause or resume a job that has ended', async () => {
    for (const action of ['pause', 'resume']) {
      const res = await post(`/api/jobs/${datasetJob.job_id}/${action}`)
      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('job_finished')
    }
  })
})

describe('retrying a run of the ended dataset job', () => {
  const KEY = { 'Idempotency-Key': 'retry-hello-fail' }
  let failRun: number
  let answer: { status: number; body: any }
  let reopened: any
  let repeated: { status: number; body: any }
  let again: any
  let repeatedAfterEnd: { status: number; body: any }
  let afterRepeat: any

  beforeAll(async () => {
    const failTask = datasetJob.tasks.find((t: any) => t.name === 'hello-fail').task_index
    failRun = datasetJob.runs.find((r: any) => r.task_index === failTask).run_number
    const retry = () => post(`/api/jobs/${datasetJob.job_id}/retry`, { run_numbers: [failRun] }, KEY)
    answer = await retry()
    reopened = await job(datasetJob.job_id)
    // The same request again (a client that lost the answer): while its run is under way, and after.
    repeated = await retry()
    again = await ended(datasetJob.job_id)
    repeatedAfterEnd = await retry()
    afterRepeat = await job(datasetJob.job_id)
  }, 120_000)

  it('answers 202 with the run, its retry and first new attempt, and reopens the job', () => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(202)
    expect(answer.body).toEqual({
      job_id: datasetJob.job_id,
      retried: [{ run_number: failRun, retry: 1, first_attempt: 2 }],
    })
    expect(reopened.status).toBe('running')
    expect(reopened.finished_at).toBeNull()
    const retried = reopened.runs.find((r: any) => r.run_number === failRun)
    expect(retried).toMatchObject({ outcome: null, reward: null, retries: 1 })
    expect(retried.status).not.toBe('completed')
    // The metrics follow the runs while the job runs again: the retried run is not counted.
    expect(reopened.tasks.find((t: any) => t.name === 'hello-fail').metrics.valid_n).toBe(1)
    expect(reopened.dataset.valid_n).toBe(5)
  })

  it('runs it as attempt 2 of the same run, and the job ends completed with its metrics recorded again', async () => {
    const detail = await run(datasetJob.job_id, failRun)
    expect(detail).toMatchObject({ status: 'completed', outcome: 'failed', reward: 0, attempts: 2, retries: 1 })
    expect(detail.attempt_history.map((a: any) => [a.attempt, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ])
    expect(Date.parse(again.finished_at)).toBeGreaterThan(Date.parse(datasetJob.finished_at))
    expect(again.metrics).toMatchObject({ valid_n: 6, counts: { passed: 4, failed: 2, error: 0, unfinished: 0 } })
    expect(again.tasks.find((t: any) => t.name === 'hello-fail').metrics.valid_n).toBe(2)
    expect(again.dataset.accuracy).toBeCloseTo(2 / 3, 10)
    // Only that run ran again: the others kept their one attempt.
    for (const r of again.runs.filter((x: any) => x.run_number !== failRun)) expect(r.attempts).toBe(1)
  })

  it('answers a repeated request (same Idempotency-Key) with the same retry, and retries nothing more', async () => {
    for (const res of [repeated, repeatedAfterEnd]) {
      expect(res.status, JSON.stringify(res.body)).toBe(202)
      expect(res.body).toEqual(answer.body)
    }
    expect(afterRepeat).toMatchObject({ status: 'completed', finished_at: again.finished_at })
    expect(await run(datasetJob.job_id, failRun)).toMatchObject({ attempts: 2, retries: 1 })
  })

  it("runs the retry in a workflow of its own, started by the job's workflow started anew", async () => {
    expect(await childWorkflowIds(datasetJob.job_id)).toEqual([runRetryWorkflowId(datasetJob.job_id, failRun, 1)])
    const retry = await temporal.workflow.getHandle(runRetryWorkflowId(datasetJob.job_id, failRun, 1)).describe()
    expect(retry.status.name).toBe('COMPLETED')
  })

  it('refuses a retry by error class when no run ended in that error', async () => {
    const res = await post(`/api/jobs/${datasetJob.job_id}/retry`, { error_class: 'infra' })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('no_runs_to_retry')
  })
})

describe('pausing and resuming a running job', () => {
  const STEPS = 6
  let jobId: string
  let paused: { status: number; body: any }
  let pausedAgain: { status: number; body: any }
  let retryRunning: { status: number; body: any }
  let whilePaused: any
  let resumed: { status: number; body: any }
  let resumedAt: number
  let resumedAgain: { status: number; body: any }
  let done: any

  beforeAll(async () => {
    const res = await upload(service.api.url, {
      file: await slowTask(STEPS),
      filename: 'slow.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '3', max_parallel: '1' },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    jobId = res.body.job_id
    await waitForJob(service.api.url, jobId, (j) => j.runs[0].status === 'running', 60_000)
    paused = await post(`/api/jobs/${jobId}/pause`)
    pausedAgain = await post(`/api/jobs/${jobId}/pause`)
    retryRunning = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1] })
    // Run 1 goes on to its end; then nothing starts for a while.
    await waitForJob(service.api.url, jobId, (j) => j.runs[0].status === 'completed', 60_000)
    await sleep(4000)
    whilePaused = await job(jobId)
    resumed = await post(`/api/jobs/${jobId}/resume`)
    resumedAt = Date.now()
    resumedAgain = await post(`/api/jobs/${jobId}/resume`)
    done = await ended(jobId)
  }, 180_000)

  it('pauses: the job is paused, and pausing it again is refused', () => {
    expect(paused.status, JSON.stringify(paused.body)).toBe(200)
    expect(paused.body).toMatchObject({ job_id: jobId, status: 'paused' })
    expect(pausedAgain.status).toBe(409)
    expect(pausedAgain.body.error.code).toBe('job_already_paused')
  })

  it('refuses to retry a run that is still running', () => {
    expect(retryRunning.status).toBe(409)
    expect(retryRunning.body.error.code).toBe('run_not_finished')
  })

  it('lets the running run finish and starts no other while paused', () => {
    expect(whilePaused.status).toBe('paused')
    expect(whilePaused.runs.map((r: any) => r.status)).toEqual(['completed', 'queued', 'queued'])
    expect(whilePaused.runs[0]).toMatchObject({ outcome: 'passed', attempts: 1 })
    expect(whilePaused.runs[1].started_at).toBeNull()
  })

  it('resumes: the rest run and the job completes; resuming a running job is refused', () => {
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200)
    expect(resumed.body.status).toBe('running')
    expect(resumedAgain.status).toBe(409)
    expect(resumedAgain.body.error.code).toBe('job_not_paused')
    expect(done.runs.map((r: any) => [r.status, r.outcome])).toEqual([
      ['completed', 'passed'],
      ['completed', 'passed'],
      ['completed', 'passed'],
    ])
    // Run 2 started only once the job was resumed (same clock: the API and the test share the machine).
    expect(Date.parse(done.runs[1].started_at)).toBeGreaterThan(resumedAt - 1000)
    expect(Date.parse(done.runs[1].started_at)).toBeGreaterThan(Date.parse(whilePaused.runs[0].finished_at) + 4000)
  })
})

describe('re-running the dataset job, and comparing the two', () => {
  let answer: { status: number; body: any }

  beforeAll(async () => {
    answer = await post(`/api/jobs/${datasetJob.job_id}/rerun`, { n_runs: 1, max_parallel: 3 })
    expect(answer.status, JSON.stringify(answer.body)).toBe(201)
    rerunJob = await ended(answer.body.job_id)
  }, 150_000)

  it('is a new job over the same stored tasks, once each, which completes', () => {
    expect(answer.body).toMatchObject({ source_job_id: datasetJob.job_id, n_tasks: 3, n_runs: 3, runs_per_task: 1 })
    expect(answer.body.job_id).not.toBe(datasetJob.job_id)
    const tasksOf = (j: any) => j.tasks.map((t: any) => [t.name, t.format, t.sha256])
    expect(tasksOf(rerunJob)).toEqual(tasksOf(datasetJob))
    expect(rerunJob.status).toBe('completed')
    expect(outcomesByTask(rerunJob)).toEqual({
      'hello-fail': [['failed', 0]],
      'hello-pass': [['passed', 1]],
      'tb-hello': [['passed', 1]],
    })
    expect(rerunJob.dataset.accuracy).toBeCloseTo(2 / 3, 10)
  })

  it('runs the new job up to its max_parallel at once, across its tasks', () => {
    // One run per task: max_parallel is bounded by the job's runs, not by the runs of one task.
    expect(answer.body.max_parallel).toBe(3)
    const spans = rerunJob.runs.map((r: any) => [Date.parse(r.started_at), Date.parse(r.finished_at)])
    const overlapping = spans.some(([s1, f1]: number[], i: number) =>
      spans.some(([s2, f2]: number[], j: number) => i !== j && s1! < f2! && s2! < f1!),
    )
    expect(overlapping, JSON.stringify(spans)).toBe(true)
  })

  it('compares the two jobs task by task', async () => {
    const { status, body } = await getJson(service.api.url, `/api/compare?jobs=${datasetJob.job_id},${rerunJob.job_id}`)
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.jobs.map((j: any) => j.job_id)).toEqual([datasetJob.job_id, rerunJob.job_id])
    const c = body.comparison
    expect(c.baseline).toBe(datasetJob.job_id)
    expect(c.tasks).toEqual(TASKS)
    expect(c.left_out.flatMap((l: any) => l.tasks)).toEqual([])
    expect(
      c.per_task.map((row: any) => [
        row.task,
        row.by_job.map((b: any) => [b.job, b.valid_n, b.mean_reward, b.difference]),
      ]),
    ).toEqual([
      [
        'hello-fail',
        [
          [datasetJob.job_id, 2, 0, 0],
          [rerunJob.job_id, 1, 0, 0],
        ],
      ],
      [
        'hello-pass',
        [
          [datasetJob.job_id, 2, 1, 0],
          [rerunJob.job_id, 1, 1, 0],
        ],
      ],
      [
        'tb-hello',
        [
          [datasetJob.job_id, 2, 1, 0],
          [rerunJob.job_id, 1, 1, 0],
        ],
      ],
    ])
    expect(c.vs_baseline).toHaveLength(1)
    expect(c.vs_baseline[0]).toMatchObject({ job: rerunJob.job_id, n_tasks_paired: 3 })
    expect(c.vs_baseline[0].test).toMatchObject({ mean_difference: 0, verdict: 'within noise' })
  })
})
