/**
 * GET /api/compare?jobs=<id>,<id>[,…]: two to ten jobs over the same tasks side by side
 * (metrics/compare.ts): per task each job's pass rate and mean reward, its difference from the
 * first job (the baseline), and per job a paired t-test over the tasks of whether the difference
 * is more than noise. Tasks pair by name; a task missing from a job, or without a valid run there,
 * is left out of the pairs and listed. Each job must be one the caller may see.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { listJobTasks } from '../../db/jobs.js'
import { listRuns } from '../../db/runs.js'
import { compareJobs, taskResultsOf } from '../../metrics/compare.js'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { requireJob } from '../lookups.js'
import { parseQuery } from '../params.js'
import { datasetMetrics, jobView } from '../views.js'

const MAX_JOBS = 10

const CompareQuery = z
  .object({
    jobs: z
      .string()
      .max(MAX_JOBS * 40, 'too long')
      // Job ids are UUIDs, which name a job in either case: a job named twice is named twice in any.
      .transform((v) => v.split(',').map((id) => id.trim().toLowerCase()))
      .refine((ids) => ids.length >= 2 && ids.length <= MAX_JOBS, `name 2 to ${MAX_JOBS} job ids, comma-separated`)
      .refine((ids) => new Set(ids).size === ids.length, 'a job is named twice'),
  })
  .strict()

export function compareRoutes(deps: AppDeps) {
  const { db, config } = deps
  const app = new Hono<AppEnv>()

  app.get('/compare', async (c) => {
    const { jobs: ids } = parseQuery(CompareQuery, c.req.queries())
    const jobs = await Promise.all(ids.map((id) => requireJob(db, c.get('principal'), id)))
    const results = await Promise.all(
      jobs.map(async (job) => {
        const [tasks, runs] = await Promise.all([listJobTasks(db, job.id), listRuns(db, job.id)])
        return { job: job.id, tasks: taskResultsOf(datasetMetrics(tasks, runs)) }
      }),
    )
    return c.json({
      jobs: jobs.map((j) => jobView(j, config.temporal.uiUrl, config.temporal.namespace)),
      comparison: compareJobs(results),
    })
  })

  return app
}
