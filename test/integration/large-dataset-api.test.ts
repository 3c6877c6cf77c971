/**
 * A benchmark-sized job in the API: 100 tasks × 10 runs (1000 runs, every one ended, outcomes of
 * every kind), and a second such job. Its detail (tasks with their metrics, the dataset's, every
 * run), a repeated detail (304 by ETag), and the comparison of the two jobs each answer within a
 * budget that a quadratic step in any of them would break (they take tens of milliseconds here).
 * The figures are printed, for docs/benchmarks/.
 *
 * Through the routes (`app.request()`) on a real database.
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { insertJobWithRuns } from '../../src/db/jobs.js'
import { createTestApp, type TestApp } from '../helpers/api-app.js'

const TASKS = 100
const RUNS_PER_TASK = 10
/** Far above what these take (tens of ms), far below what a quadratic step over 1000 runs would. */
const BUDGET_MS = 1_500

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t?.close())

/** A finished dataset job whose task i passes with probability (i mod 10) / 10, shifted by `skill`. */
async function datasetJob(skill: number): Promise<string> {
  const id = randomUUID()
  await insertJobWithRuns(
    t.db.db,
    {
      job: {
        id,
        task_name: 'bench',
        harness: 'harbor',
        agent: 'oracle',
        model: `m${skill}`,
        environment: 'docker',
        runs_per_task: RUNS_PER_TASK,
        max_parallel: 10,
        timeout_multiplier: 1,
        idempotency_key: null,
      },
      tasks: Array.from({ length: TASKS }, (_, i) => ({
        name: `task-${String(i).padStart(3, '0')}`,
        format: 'harbor' as const,
        sha256: 'c'.repeat(64),
        run_time_limit_sec: 600,
      })),
      secret: null,
    },
    randomUUID,
    { activeJobs: 1000, activeRuns: 100_000 },
  )
  // Deterministic outcomes: run k of task i passes when k < (i mod 10) + skill; every 17th is an error.
  await sql`
    update runs set
      status = 'completed',
      outcome = case
        when run_number % 17 = 0 then 'error'
        when ((run_number - 1) / ${TASKS}) < (task_index % 10) + ${skill} then 'passed'
        else 'failed' end,
      error_class = case when run_number % 17 = 0 then 'provider' end,
      reward = case
        when run_number % 17 = 0 then null
        when ((run_number - 1) / ${TASKS}) < (task_index % 10) + ${skill} then 1 else 0 end,
      cost_usd = 0.01, started_at = now() - interval '1 minute', finished_at = now()
    where job_id = ${id}
  `.execute(t.db.db)
  await t.db.db.updateTable('jobs').set({ status: 'running' }).where('id', '=', id).execute()
  return id
}

async function timed(path: string, headers: Record<string, string> = {}) {
  const start = performance.now()
  const res = await t.app.request(path, { headers })
  const body = res.status === 200 ? await res.text() : ''
  return { res, body, ms: performance.now() - start }
}

it(`answers a ${TASKS} × ${RUNS_PER_TASK} job's detail, a repeat of it, and a comparison within budget`, async () => {
  const [a, b] = [await datasetJob(0), await datasetJob(2)]

  const detail = await timed(`/api/jobs/${a}`)
  expect(detail.res.status).toBe(200)
  const job = JSON.parse(detail.body)
  expect(job.tasks).toHaveLength(TASKS)
  expect(job.runs).toHaveLength(TASKS * RUNS_PER_TASK)
  expect(job.dataset.n_tasks).toBe(TASKS)
  expect(job.tasks[3].metrics.valid_n).toBeGreaterThan(0)

  const repeat = await timed(`/api/jobs/${a}`, { 'If-None-Match': detail.res.headers.get('etag')! })
  expect(repeat.res.status).toBe(304)

  const compare = await timed(`/api/compare?jobs=${a},${b}`)
  expect(compare.res.status).toBe(200)
  const { comparison } = JSON.parse(compare.body)
  expect(comparison.tasks).toHaveLength(TASKS)
  // Job b passes two more runs of ten on nearly every task: far more than noise.
  expect(comparison.vs_baseline[0].test.mean_difference).toBeGreaterThan(0.1)
  expect(comparison.vs_baseline[0].test.verdict).toBe('more than noise at 5%')

  const figures = {
    detail_ms: Math.round(detail.ms),
    detail_bytes: detail.body.length,
    detail_304_ms: Math.round(repeat.ms),
    compare_ms: Math.round(compare.ms),
    compare_bytes: compare.body.length,
  }
  console.log(`large dataset job in the API: ${JSON.stringify(figures)}`)
  expect(detail.ms).toBeLessThan(BUDGET_MS)
  expect(repeat.ms).toBeLessThan(BUDGET_MS)
  expect(compare.ms).toBeLessThan(BUDGET_MS)
})
