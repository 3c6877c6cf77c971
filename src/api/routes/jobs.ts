/** The jobs resource: list, one job with its runs and metrics, one run with its attempts. */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppDeps } from '../app.js'
import { ApiError } from '../errors.js'
import { jobIdParam, parseQuery, runNumberParam } from '../params.js'
import { attemptView, jobMetrics, jobView, phaseDurations, runCounts, runView } from '../views.js'
import { findJob, listJobs } from '../../db/jobs.js'
import { findRun, listAttempts, listRuns } from '../../db/runs.js'
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
    const jobId = jobIdParam(c.req.param('job_id'))
    const job = await findJob(db, jobId)
    if (!job) throw new ApiError(404, 'job_not_found', `no job ${jobId}`)
    const runs = await listRuns(db, jobId)
    return c.json({
      ...view(job),
      runs_by_status: runCounts(runs),
      metrics: jobMetrics(job, runs),
      runs: runs.map(runView),
    })
  })

  app.get('/:job_id/runs/:run_number', async (c) => {
    const jobId = jobIdParam(c.req.param('job_id'))
    const runNumber = runNumberParam(c.req.param('run_number'))
    const run = await findRun(db, jobId, runNumber)
    if (!run) {
      const job = await findJob(db, jobId)
      throw job
        ? new ApiError(404, 'run_not_found', `job ${jobId} has no run ${runNumber}`)
        : new ApiError(404, 'job_not_found', `no job ${jobId}`)
    }
    const attempts = await listAttempts(db, run.id)
    const last = attempts.at(-1)
    return c.json({
      job_id: jobId,
      ...runView(run),
      phase_timings: phaseDurations(last?.phases ?? null),
      attempt_history: attempts.map(attemptView),
    })
  })

  return app
}
