/** The jobs resource: list, one job with its runs and metrics, one run with its attempts. */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppDeps } from '../app.js'
import type { AppEnv } from '../auth.js'
import { requireJob, requireRun } from '../lookups.js'
import { intQuery, NO_QUERY, parseQuery, textQuery } from '../params.js'
import { attemptView, jobDetail, jobView, phaseDurations, runView } from '../views.js'
import { listJobs } from '../../db/jobs.js'
import { jobProgress, lastAttemptPhases, listAttempts, listRuns } from '../../db/runs.js'
import { HARNESSES, isTerminalJobStatus, JOB_STATUSES } from '../../shared/status.js'
import { ApiError } from '../errors.js'

const ListQuery = z
  .object({
    limit: intQuery(1, 200).default(50),
    offset: intQuery(0, 1_000_000).default(0),
    status: z.enum(JOB_STATUSES).optional(),
    harness: z.enum(HARNESSES).optional(),
    model: textQuery(200).optional(),
    agent: textQuery(200).optional(),
    task_name: textQuery(200).optional(),
  })
  .strict()

export function jobRoutes(deps: AppDeps) {
  const { db, config } = deps
  const view = (job: Parameters<typeof jobView>[0]) => jobView(job, config.temporal.uiUrl, config.temporal.namespace)
  const app = new Hono<AppEnv>()

  app.get('/', async (c) => {
    const q = parseQuery(ListQuery, c.req.queries())
    const principal = c.get('principal')
    const owner = principal.admin ? undefined : principal.tokenId
    const { jobs, total } = await listJobs(db, { ...q, taskName: q.task_name, owner })
    const progress = await jobProgress(
      db,
      jobs.map((j) => j.id),
    )
    return c.json({
      jobs: jobs.map((j) => ({ ...view(j), progress: progress.get(j.id) ?? null })),
      total,
      limit: q.limit,
      offset: q.offset,
    })
  })

  app.get('/:job_id', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const job = await requireJob(db, c.get('principal'), c.req.param('job_id'))
    const [runs, phases] = await Promise.all([listRuns(db, job.id), lastAttemptPhases(db, job.id)])
    return c.json(jobDetail(job, runs, phases, config.temporal.uiUrl, config.temporal.namespace))
  })

  /**
   * Cancels the job: its running runs stop their harnesses (SIGTERM, then SIGKILL after a grace
   * period), clean their hosts and end `cancelled` with their logs kept; runs not yet started are
   * cancelled; the job ends `cancelled`. Answers at once (202); follow the job for the rest.
   */
  app.post('/:job_id/cancel', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const job = await requireJob(db, c.get('principal'), c.req.param('job_id'))
    if (isTerminalJobStatus(job.status)) {
      throw new ApiError(409, 'job_finished', `job ${job.id} is already ${job.status}; there is nothing to cancel`)
    }
    await deps.jobs.cancel(job.id)
    return c.json({ ...view(job), cancel_requested: true }, 202)
  })

  app.get('/:job_id/runs/:run_number', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const run = await requireRun(db, c.get('principal'), c.req.param('job_id'), c.req.param('run_number'))
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
