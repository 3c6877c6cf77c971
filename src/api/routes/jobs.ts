/** The jobs resource: list, one job with its runs and metrics, one run with its attempts. */
import { Hono } from 'hono'
import { endTime, startTime } from 'hono/timing'
import { z } from 'zod'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { requireJob, requireJobAs, requireRun } from '../lookups.js'
import { intQuery, NO_QUERY, parseQuery, textQuery } from '../params.js'
import { detailEtag, ifNoneMatchHits, JobDetailCache } from '../detail-cache.js'
import { attemptView, jobDetail, jobView, phaseDurations, runView } from '../views.js'
import { findJobWithDetailVersion, listJobs, listJobTasks } from '../../db/jobs.js'
import { jobProgress, lastAttemptPhases, listAttempts, listRuns } from '../../db/runs.js'
import { HARNESS_NAMES } from '../../harness/registry.js'
import { isTerminalJobStatus, JOB_STATUSES } from '../../shared/status.js'
import { ApiError } from '../errors.js'

const ListQuery = z
  .object({
    limit: intQuery(1, 200).default(50),
    offset: intQuery(0, 1_000_000).default(0),
    status: z.enum(JOB_STATUSES).optional(),
    harness: z.enum(HARNESS_NAMES).optional(),
    model: textQuery(200).optional(),
    agent: textQuery(200).optional(),
    task_name: textQuery(200).optional(),
  })
  .strict()

export function jobRoutes(deps: AppDeps) {
  const { db, config } = deps
  const view = (job: Parameters<typeof jobView>[0]) => jobView(job, config.temporal.uiUrl, config.temporal.namespace)
  const app = new Hono<AppEnv>()
  const detailCache = new JobDetailCache()

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

  /**
   * The job with its runs and metrics. Answers carry an ETag: a client that sends it back in
   * `If-None-Match` gets 304 while the job is unchanged; an unchanged job's body is also kept (see
   * detail-cache.ts), so polling a big job costs one small query until something in it changes (the
   * token check is kept in memory: token-cache.ts).
   */
  app.get('/:job_id', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    // The job and its version in one snapshot; the runs, read after, are then at least as new as the
    // version the body is cached and tagged under, so a kept body is never older than its tag.
    startTime(c, 'job', 'the job and its version')
    const { detail_version: version, ...job } = await requireJobAs(c.get('principal'), c.req.param('job_id'), (id) =>
      findJobWithDetailVersion(db, id),
    )
    endTime(c, 'job')
    const etag = detailEtag(version)
    const headers = { ETag: etag, 'Cache-Control': 'private, no-cache' }
    if (ifNoneMatchHits(c.req.header('If-None-Match'), etag)) return c.body(null, 304, headers)
    let body = detailCache.get(job.id, version)
    if (body === undefined) {
      startTime(c, 'render', 'runs read and rendered')
      const [tasks, runs, phases] = await Promise.all([
        listJobTasks(db, job.id),
        listRuns(db, job.id),
        lastAttemptPhases(db, job.id),
      ])
      body = JSON.stringify(jobDetail(job, tasks, runs, phases, config.temporal.uiUrl, config.temporal.namespace))
      endTime(c, 'render')
      detailCache.set(job.id, version, body)
    }
    return c.body(body, 200, { ...headers, 'Content-Type': 'application/json' })
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
