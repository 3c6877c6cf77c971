/**
 * What the API computes over a dataset's tasks, through its routes (`app.request()`, a real
 * database, runs set in it as a job's workflow leaves them): `GET /api/compare` (tasks paired by
 * name across jobs, each job's pass rates, the paired t-test against the baseline) and the job
 * detail's per-task metrics and dataset summary. The expected numbers are worked out by hand, with
 * the closed forms of Student's t for 2 degrees of freedom.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insertJobWithRuns } from '../../src/db/jobs.js'
import type { RunOutcome } from '../../src/shared/status.js'
import { createTestApp, type TestApp } from '../helpers/api-app.js'

/** A run's end: passed (reward 1), failed (reward 0), an infra error, or not ended yet. */
type End = 'P' | 'F' | 'E' | '-'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

/**
 * A job over these tasks (by name), each run ended as given: `tasks[name][k]` is the end of the
 * task's k-th run (runs are interleaved: run r is of task (r − 1) mod n_tasks).
 */
async function jobWith(tasks: Record<string, End[]>): Promise<string> {
  const id = randomUUID()
  const names = Object.keys(tasks)
  const runsPerTask = Math.max(...Object.values(tasks).map((ends) => ends.length))
  await insertJobWithRuns(
    t.db.db,
    {
      job: {
        id,
        task_name: 'suite',
        harness: 'harbor',
        agent: 'oracle',
        model: 'openai/gpt-4o',
        environment: 'docker',
        runs_per_task: runsPerTask,
        max_parallel: 1,
        timeout_multiplier: 1,
        idempotency_key: null,
      },
      tasks: names.map((name) => ({ name, format: 'harbor', sha256: 'a'.repeat(64), run_time_limit_sec: null })),
      secret: null,
    },
    randomUUID,
    { activeJobs: 1000, activeRuns: 100_000 },
  )
  for (const [i, name] of names.entries()) {
    for (const [k, end] of tasks[name]!.entries()) {
      if (end === '-') continue
      const outcome: RunOutcome = end === 'P' ? 'passed' : end === 'F' ? 'failed' : 'error'
      await t.db.db
        .updateTable('runs')
        .set({
          status: 'completed',
          outcome,
          reward: end === 'P' ? 1 : end === 'F' ? 0 : null,
          error_class: end === 'E' ? 'infra' : null,
        })
        .where('job_id', '=', id)
        .where('run_number', '=', k * names.length + i + 1)
        .execute()
    }
  }
  return id
}

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await t.app.request(path)
  return { status: res.status, body: await res.json() }
}

/** Baseline A and job B. Paired: t1, t2, t3 (B lists them in another order); t4 is A's only; B has no valid run of t5. */
let a: string
let b: string
beforeAll(async () => {
  a = await jobWith({
    t1: ['P', 'P', 'F', 'F'],
    t2: ['P', 'F', '-', '-'],
    t3: ['F', 'F', '-', '-'],
    t4: ['P', '-', '-', '-'],
    t5: ['P', '-', '-', '-'],
  })
  b = await jobWith({
    t3: ['F', 'F', 'E', '-'],
    t1: ['P', 'P', 'P', 'P'],
    t2: ['P', 'P', '-', '-'],
    t5: ['E', '-', '-', '-'],
  })
})

describe('GET /api/compare', () => {
  it('pairs the tasks by name and tests the differences against the baseline', async () => {
    const { status, body } = await get(`/api/compare?jobs=${a},${b}`)
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.jobs.map((j: any) => j.job_id)).toEqual([a, b])
    const c = body.comparison
    expect(c.baseline).toBe(a)
    expect(c.tasks).toEqual(['t1', 't2', 't3'])
    expect(c.left_out).toEqual([
      {
        job: a,
        tasks: [
          { task: 't4', reason: 'unpaired' },
          { task: 't5', reason: 'unpaired' },
        ],
      },
      {
        job: b,
        tasks: [
          { task: 't4', reason: 'missing' },
          { task: 't5', reason: 'no_valid_run' },
        ],
      },
    ])
    const row = (task: string) =>
      c.per_task
        .find((r: any) => r.task === task)
        .by_job.map((j: any) => [j.valid_n, j.pass_rate, j.mean_reward, j.difference])
    expect(row('t1')).toEqual([
      [4, 0.5, 0.5, 0],
      [4, 1, 1, 0.5],
    ])
    expect(row('t2')).toEqual([
      [2, 0.5, 0.5, 0],
      [2, 1, 1, 0.5],
    ])
    // B's infra error on t3 is no run of it: 2 valid runs, not 3.
    expect(row('t3')).toEqual([
      [2, 0, 0, 0],
      [2, 0, 0, 0],
    ])

    // d = (0.5, 0.5, 0): mean 1/3, sd √(1/12), se 1/6, t = 2 with 2 degrees of freedom, where the
    // two-sided p is 1 − t/√(t² + 2) and the 97.5% quantile is 0.95/√(2 · 0.975 · 0.025).
    const [versus] = c.vs_baseline
    expect(versus).toMatchObject({ job: b, n_tasks_paired: 3, reason: null })
    const test = versus.test
    const q975 = 0.95 / Math.sqrt(2 * 0.975 * 0.025)
    expect(test.mean_difference).toBeCloseTo(1 / 3, 12)
    expect(test.sd_difference).toBeCloseTo(Math.sqrt(1 / 12), 12)
    expect(test.standard_error).toBeCloseTo(1 / 6, 12)
    expect(test.t).toBeCloseTo(2, 12)
    expect(test.df).toBe(2)
    expect(test.p_value).toBeCloseTo(1 - 2 / Math.sqrt(6), 6)
    expect(test.ci95[0]).toBeCloseTo(1 / 3 - q975 / 6, 6)
    expect(test.ci95[1]).toBeCloseTo(1 / 3 + q975 / 6, 6)
    expect(test.verdict).toBe('within noise')
  })

  it('compares three jobs, each against the first', async () => {
    const c3 = await jobWith({ t1: ['P', 'P'], t2: ['P', 'F'], t3: ['P', 'P'] })
    const { status, body } = await get(`/api/compare?jobs=${a},${b},${c3}`)
    expect(status).toBe(200)
    expect(body.comparison.jobs).toEqual([a, b, c3])
    expect(body.comparison.vs_baseline.map((v: any) => v.job)).toEqual([b, c3])
    // d = (0.5, 0, 1) for the third: mean 0.5, sd 0.5, t = √3.
    expect(body.comparison.vs_baseline[1].test.t).toBeCloseTo(Math.sqrt(3), 12)
  })

  it('refuses one job, more than ten, a job twice, and anything but ?jobs', async () => {
    const many = Array.from({ length: 11 }, () => randomUUID()).join(',')
    for (const query of [
      `jobs=${a}`,
      `jobs=${many}`,
      `jobs=${a},${a}`,
      `jobs=${a},${a.toUpperCase()}`,
      `jobs=${a}, ${a}`,
      '',
      `jobs=${a},${b}&jobs=${b},${a}`,
    ]) {
      const res = await get(`/api/compare?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.body.error.code, query).toBe('invalid_jobs')
    }
    const extra = await get(`/api/compare?jobs=${a},${b}&baseline=${b}`)
    expect(extra).toMatchObject({ status: 400, body: { error: { code: 'invalid_query' } } })
    const notId = await get(`/api/compare?jobs=${a},nope`)
    expect(notId).toMatchObject({ status: 400, body: { error: { code: 'invalid_job_id' } } })
    expect(t.logged).toEqual([])
  })

  it('answers 404 for a job that does not exist', async () => {
    const res = await get(`/api/compare?jobs=${a},${randomUUID()}`)
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'job_not_found' } } })
  })
})

describe("GET /api/jobs/{id}: a dataset's metrics", () => {
  it('has each task with its own metrics, and the dataset summed up over its tasks', async () => {
    const { status, body } = await get(`/api/jobs/${a}`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ n_tasks: 5, runs_per_task: 4, n_runs: 20 })
    expect(body.tasks.map((task: any) => task.name)).toEqual(['t1', 't2', 't3', 't4', 't5'])
    const [t1, t2, t3] = body.tasks.map((task: any) => task.metrics)
    expect(t1).toMatchObject({ n_runs: 4, valid_n: 4, mean_reward: 0.5, counts: { passed: 2, failed: 2 } })
    expect(t1.pass_at_k['1']).toBeCloseTo(0.5, 12)
    // pass@2 of 2 passes in 4: 1 − C(2,2)/C(4,2) = 5/6.
    expect(t1.pass_at_k['2']).toBeCloseTo(5 / 6, 12)
    expect(t2).toMatchObject({ valid_n: 2, mean_reward: 0.5, counts: { unfinished: 2 } })
    expect(t3).toMatchObject({ valid_n: 2, mean_reward: 0 })

    // Per-task means 0.5, 0.5, 0, 1, 1: accuracy 0.6, sd √0.175 over 5 tasks, t(0.975, 4) = 2.7764451
    // (the job metrics' table has it to 3 decimals).
    const d = body.dataset
    expect(d).toMatchObject({ n_tasks: 5, n_tasks_no_valid_run: 0, valid_n: 10 })
    expect(d.accuracy).toBeCloseTo(0.6, 12)
    const half = (2.7764451 * Math.sqrt(0.175)) / Math.sqrt(5)
    expect(d.accuracy_ci95[0]).toBeCloseTo(0.6 - half, 3)
    expect(d.accuracy_ci95[1]).toBeCloseTo(0.6 + half, 3)
    // Pooled: 5 passes in 10 valid runs.
    expect(d.mean_reward_runs).toBeCloseTo(0.5, 12)
    // A task with one valid run: no interval for the same tasks run again.
    expect(d.accuracy_ci95_same_tasks).toBeNull()
  })

  it('leaves a task without a valid run out of accuracy, and names it', async () => {
    const { body } = await get(`/api/jobs/${b}`)
    expect(body.tasks.map((task: any) => task.name)).toEqual(['t3', 't1', 't2', 't5'])
    expect(body.tasks[3].metrics).toMatchObject({ valid_n: 0, mean_reward: null, counts: { error: 1 } })
    expect(body.dataset).toMatchObject({ n_tasks: 4, n_tasks_no_valid_run: 1, tasks_no_valid_run: ['t5'] })
    expect(body.dataset.accuracy).toBeCloseTo(2 / 3, 12)
    expect(body.dataset.errors_by_class.infra).toBe(2)
  })

  it('lists a task none of whose runs has ended, with empty metrics', async () => {
    const c = await jobWith({ done: ['P'], waiting: ['-'] })
    const { body } = await get(`/api/jobs/${c}`)
    expect(body.tasks.map((task: any) => [task.name, task.metrics.n_runs, task.metrics.valid_n])).toEqual([
      ['done', 1, 1],
      ['waiting', 1, 0],
    ])
    expect(body.dataset).toMatchObject({ accuracy: 1, tasks_no_valid_run: ['waiting'] })
  })
})
