/**
 * Job control (docs/api.md, "Job control"): pause and resume a job, retry ended runs, re-run a job
 * as a new one. Each acts through the job's workflow (an update: durable, shown in its history)
 * and answers once it has acted; what makes no sense is a 409 that says why (a 422 when a retry
 * needs the job's key again), a workflow out of reach a 503. An Idempotency-Key makes a repeated
 * request the same one: the same update of the workflow, for the same action and token (the
 * workflow's update ids are its own, shared by every action and caller).
 */
import { Hono, type Context } from 'hono'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { ApiError } from '../errors.js'
import { requireJob } from '../lookups.js'
import { idempotencyKeyOf, NO_QUERY, parseQuery } from '../params.js'
import { jobView, taskView } from '../views.js'
import { JobControlRefused } from '../../shared/job-control.js'
import { isTerminalJobStatus } from '../../shared/status.js'
import { retryRuns, RetryRequest } from '../job-control/retry.js'
import { rerunJob, RerunRequest } from '../job-control/rerun.js'
import { uploadFormParser } from '../upload/upload-form.js'
import { jobWorkflowInput } from '../job-control/workflow-input.js'
import { listJobTasks } from '../../db/jobs.js'
import type { JobRow } from '../../db/schema.js'
import type { z } from 'zod'

export function jobControlRoutes(deps: AppDeps) {
  const { db, config } = deps
  const view = (job: JobRow) => jobView(job, config.temporal.uiUrl, config.temporal.namespace)
  const parseForm = uploadFormParser(
    config.limits.runsPerJob,
    config.harness.defaultEnvironment,
    config.harness.allowedImportPaths,
  )
  const app = new Hono<AppEnv>()

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`/:job_id/${action}`, async (c) => {
      parseQuery(NO_QUERY, c.req.queries())
      const job = await requireJob(db, c.get('principal'), c.req.param('job_id'))
      if (isTerminalJobStatus(job.status)) {
        throw new ApiError(409, 'job_finished', `job ${job.id} is already ${job.status}; there is nothing to ${action}`)
      }
      const requestId = requestIdOf(c, action)
      await workflowCall(deps, () => deps.jobs.setPaused(job.id, paused, requestId))
      return c.json({ ...view(await requireJob(db, c.get('principal'), job.id)) }, 200)
    })
  }

  app.post('/:job_id/retry', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const job = await requireJob(db, c.get('principal'), c.req.param('job_id'))
    const request = await jsonBody(c, RetryRequest)
    const requestId = requestIdOf(c, 'retry')
    const retried = await retryRuns(
      {
        db,
        masterKey: deps.masterKey,
        limits: { activeJobs: config.limits.activeJobsPerToken, activeRuns: config.limits.activeRunsPerToken },
        retry: (j, runNumbers) =>
          workflowCall(deps, () =>
            deps.jobs.retry(jobWorkflowInput(j, config.harness.maxAttempts), runNumbers, requestId),
          ),
      },
      job,
      request,
      requestId,
    )
    return c.json(
      {
        job_id: job.id,
        retried: retried.map((r) => ({ run_number: r.runNumber, retry: r.retry, first_attempt: r.firstAttempt })),
      },
      202,
    )
  })

  app.post('/:job_id/rerun', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const source = await requireJob(db, c.get('principal'), c.req.param('job_id'))
    const request = await jsonBody(c, RerunRequest)
    const { job, replay } = await rerunJob(
      {
        db,
        masterKey: deps.masterKey,
        maxAttempts: config.harness.maxAttempts,
        limits: { activeJobs: config.limits.activeJobsPerToken, activeRuns: config.limits.activeRunsPerToken },
        parseForm,
        start: (input) => deps.jobs.start(input),
        logError: (err) => deps.logError(err),
      },
      source,
      request,
      { owner: c.get('principal').tokenId, idempotencyKey: idempotencyKeyOf(c) },
    )
    // As an upload answers: the job, its tasks and its runs queued.
    const tasks = (await listJobTasks(db, job.id)).map(taskView)
    return c.json(
      { ...view(job), tasks, runs_queued: job.n_runs, idempotent_replay: replay || undefined },
      replay ? 200 : 201,
    )
  })

  return app
}

/**
 * The request's JSON body by `schema` (none: `{}`), or a 400: `unknown_field` naming a field the
 * route does not take, `invalid_<field>` naming the field at fault, `invalid_body` for the rest.
 */
async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text()
  let body: unknown = {}
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      throw new ApiError(400, 'invalid_body', 'the body must be a JSON object')
    }
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const name = issue.keys[0]!
      throw new ApiError(400, 'unknown_field', `unknown field ${JSON.stringify(name)}`, name)
    }
    const field = issue.path.length > 0 ? String(issue.path[0]) : undefined
    throw new ApiError(400, field ? `invalid_${field}` : 'invalid_body', issue.message, field)
  }
  return parsed.data
}

/** The workflow update's id for the request's Idempotency-Key: its own for each action and token. */
function requestIdOf(c: Context<AppEnv>, action: string): string | undefined {
  const key = idempotencyKeyOf(c)
  return key === null ? undefined : `${action}:${c.get('principal').tokenId ?? 'open'}:${key}`
}

/**
 * A call to the job's workflow: its refusals as the API's (422 for a key that must come again, else
 * 409); any other failure (Temporal out of reach) a 503, logged.
 */
async function workflowCall<T>(deps: AppDeps, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof JobControlRefused) {
      throw new ApiError(err.code === 'openrouter_key_required' ? 422 : 409, err.code, err.message)
    }
    deps.logError(err)
    throw new ApiError(
      503,
      'orchestrator_unavailable',
      "the job's workflow could not be reached: Temporal is not reachable; try again",
    )
  }
}
