/** The jobs resource: list, one job with its runs and metrics, one run with its attempts. */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppDeps } from '../app.js'
import { requireJob, requireRun } from '../lookups.js'
import { parseQuery } from '../params.js'
import { attemptView, jobMetrics, jobView, phaseDurations, runCounts, runView } from '../views.js'
import { listJobs } from '../../db/jobs.js'
import { listAttempts, listRuns } from '../../db/runs.js'
import { HARNESSES, JOB_STATUSES } from '../../shared/status.js'

const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    status: z.enum(JOB_STATUSES).optional(),
    harness: z.enum(HARNESSES).optional(),
    model: z.string().max(200).optional(),
    agent: z.string().max(200).optional(),
    task_name: z.string().max(200).optional(),
  })
  .strict()

export function jobRoutes(deps: AppDeps) {
  const { db, config } = deps
  const view = (job: Parameters<typeof jobView>[0]) => jobView(job, config.temporal.uiUrl, config.temporal.namespace)
  const app = new Hono()

  app.get('/', async (c) => {
    const q = parseQuery(ListQuery, c.req.query())
    const { jobs, total } = await listJobs(db, { ...q, taskName: q.task_name })
    return c.json({ jobs: jobs.map(view), total, limit: q.limit, offset: q.offset })
  })

  app.get('/:job_id', async (c) => {
    const job = await requireJob(db, c.req.param('job_id'))
    const runs = await listRuns(db, job.id)
    return c.json({
      ...view(job),
      runs_by_status: runCounts(runs),
      metrics: jobMetrics(job, runs),
      runs: runs.map(runView),
    })
  })

  app.get('/:job_id/runs/:run_number', async (c) => {
    const run = await requireRun(db, c.req.param('job_id'), c.req.param('run_number'))
    const attempts = await listAttempts(db, run.id)
    const last = attempts.at(-1)
    return c.json({
      job_id: run.job_id,
      ...runView(run),
      phase_timings: phaseDurations(last?.phases ?? null),
      attempt_history: attempts.map(attemptView),
    })
  })

  return app
}
