/**
 * Re-running a job: a new job over the same stored tasks, with another model, agent, environment,
 * n_runs or max_parallel (each defaulting to the source job's). The fields are checked exactly as an
 * upload's (upload/upload-form.ts); the harness and the timeout multiplier are the source job's,
 * since its tasks were prepared for that harness and their time limits computed with that multiplier.
 * The new job names its source (`source_job_id`).
 */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { Db } from '../../db/database.js'
import {
  deleteJob,
  findJob,
  findJobByIdempotencyKey,
  insertJobWithRuns,
  listJobTasks,
  OwnerLimitError,
} from '../../db/jobs.js'
import type { JobRow } from '../../db/schema.js'
import { seal } from '../../secrets/sealed-box.js'
import type { JobWorkflowInput } from '../../workflows/job-workflow.js'
import { jobWorkflowInput } from './workflow-input.js'
import { ApiError } from '../errors.js'
import { maxParallelOf, type UploadForm } from '../upload/upload-form.js'

const field = z.union([z.string().max(1000), z.number()]).transform(String)

export const RerunRequest = z
  .object({
    model: field.optional(),
    agent: field.optional(),
    environment: field.optional(),
    n_runs: field.optional(),
    max_parallel: field.optional(),
    openrouter_key: field.optional(),
  })
  .strict()

export type RerunRequest = z.infer<typeof RerunRequest>

export interface RerunDeps {
  db: Db
  masterKey: Buffer
  maxAttempts: number
  limits: { activeJobs: number; activeRuns: number }
  /** The upload's field parser (its limits, defaults and allowed import paths). */
  parseForm(fields: Record<string, string>): UploadForm
  start(input: JobWorkflowInput): Promise<void>
  logError(err: unknown): void
}

export async function rerunJob(
  deps: RerunDeps,
  source: JobRow,
  request: RerunRequest,
  caller: { owner: string | null; idempotencyKey: string | null },
): Promise<{ job: JobRow; replay: boolean }> {
  if (caller.idempotencyKey) {
    const earlier = await findJobByIdempotencyKey(deps.db, caller.owner, caller.idempotencyKey)
    if (earlier) return { job: earlier, replay: true }
  }
  const form = deps.parseForm(rerunFields(source, request))
  const tasks = await listJobTasks(deps.db, source.id)
  const jobId = randomUUID()
  try {
    await insertJobWithRuns(
      deps.db,
      {
        job: {
          id: jobId,
          task_name: source.task_name,
          harness: source.harness,
          agent: form.agent,
          model: form.model,
          environment: form.environment,
          runs_per_task: form.n_runs,
          max_parallel: maxParallelOf(form, form.n_runs * tasks.length),
          timeout_multiplier: source.timeout_multiplier,
          idempotency_key: caller.idempotencyKey,
          owner_token_id: caller.owner,
          source_job_id: source.id,
        },
        tasks: tasks.map(({ name, format, sha256, run_time_limit_sec }) => ({
          name,
          format,
          sha256,
          run_time_limit_sec,
        })),
        secret: form.openrouter_key ? seal(deps.masterKey, form.openrouter_key, jobId) : null,
      },
      randomUUID,
      deps.limits,
    )
  } catch (err) {
    if (err instanceof OwnerLimitError) throw new ApiError(429, `too_many_${err.limit}`, err.message)
    throw err
  }
  const job = (await findJob(deps.db, jobId))!
  try {
    await deps.start(jobWorkflowInput(job, deps.maxAttempts))
  } catch (err) {
    // The tasks stay: the source job references them.
    await deleteJob(deps.db, jobId)
    deps.logError(err)
    throw new ApiError(
      503,
      'orchestrator_unavailable',
      'the job could not be started: Temporal is not reachable; try again',
    )
  }
  return { job, replay: false }
}

/** The upload's fields for the new job: the request's, else the source job's. */
function rerunFields(source: JobRow, request: RerunRequest): Record<string, string> {
  const fields: Record<string, string> = {
    harness: source.harness,
    model: request.model ?? source.model,
    agent: request.agent ?? source.agent,
    environment: request.environment ?? source.environment,
    n_runs: request.n_runs ?? String(source.runs_per_task),
    timeout_multiplier: String(source.timeout_multiplier),
  }
  if (request.max_parallel !== undefined) fields.max_parallel = request.max_parallel
  // The source's own limit, if it had one below all its runs (else the new job's default: all its runs).
  else if (request.n_runs === undefined && source.max_parallel < source.n_runs)
    fields.max_parallel = String(source.max_parallel)
  if (request.openrouter_key !== undefined) fields.openrouter_key = request.openrouter_key
  return fields
}
