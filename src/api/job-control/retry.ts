/**
 * Retrying runs of a job: which runs a request names (by number, or every run that ended in an error
 * of a class), the checks that make a retry sensible (each named run has ended: 409 otherwise), the
 * key it needs (a job given a key at upload has lost it once it ended: the request brings it again),
 * and the job's workflow told (src/temporal/client.ts `retryJobRuns`).
 */
import { z } from 'zod'
import type { Db } from '../../db/database.js'
import {
  checkOwnerLimits,
  deleteJobSecretIfIdle,
  findJobSecret,
  markJobWithKey,
  OwnerLimitError,
  storeJobSecret,
} from '../../db/jobs.js'
import { listRuns } from '../../db/runs.js'
import type { JobRow, RunRow } from '../../db/schema.js'
import { seal } from '../../secrets/sealed-box.js'
import type { RetriedRun } from '../../shared/job-control.js'
import { ERROR_CLASSES, isTerminalJobStatus, isTerminalRunStatus } from '../../shared/status.js'
import { ApiError } from '../errors.js'
import { OPENROUTER_KEY } from '../upload/upload-form.js'

export const RetryRequest = z
  .object({
    run_numbers: z.array(z.number().int().min(1)).min(1).max(10_000).optional(),
    error_class: z.enum(ERROR_CLASSES).optional(),
    openrouter_key: OPENROUTER_KEY.optional(),
  })
  .strict()
  .refine((r) => (r.run_numbers === undefined) !== (r.error_class === undefined), {
    message: 'name the runs to retry: either run_numbers or error_class',
  })

export type RetryRequest = z.infer<typeof RetryRequest>

export interface RetryDeps {
  db: Db
  masterKey: Buffer
  /** The owner's limits of jobs and runs not yet ended, which an ended job opened again counts in. */
  limits: { activeJobs: number; activeRuns: number }
  retry(job: JobRow, runNumbers: number[]): Promise<RetriedRun[]>
}

/**
 * `requestId` is the request's Idempotency-Key: a run that request has reopened, still under way,
 * is not refused, so that the request repeated is answered as it was the first time.
 */
export async function retryRuns(
  deps: RetryDeps,
  job: JobRow,
  request: RetryRequest,
  requestId?: string,
): Promise<RetriedRun[]> {
  const runNumbers = await runsToRetry(deps.db, job, request, requestId)
  if (isTerminalJobStatus(job.status)) await withinOwnerLimits(deps, job)
  const keyStored = await provideKey(deps, job, request.openrouter_key)
  try {
    const retried = await deps.retry(job, runNumbers)
    if (retried.length === 0) throw notEnded(runNumbers)
    return retried
  } catch (err) {
    // A key stored for a retry that did not happen goes again, unless another retry's runs need it.
    if (keyStored) await deleteJobSecretIfIdle(deps.db, job.id)
    throw err
  }
}

/** The run numbers the request names, each an ended run of the job or one this request reopened. */
async function runsToRetry(db: Db, job: JobRow, request: RetryRequest, requestId?: string): Promise<number[]> {
  const runs = await listRuns(db, job.id)
  const reopenedByThis = (r: RunRow) => requestId !== undefined && r.retry_request === requestId
  if (request.error_class) {
    const matching = runs.filter(
      (r) => (r.outcome === 'error' && r.error_class === request.error_class) || reopenedByThis(r),
    )
    if (matching.length === 0) {
      throw new ApiError(
        409,
        'no_runs_to_retry',
        `no run of job ${job.id} ended in an error of class ${request.error_class}`,
      )
    }
    return matching.map((r) => r.run_number)
  }
  const byNumber = new Map(runs.map((r) => [r.run_number, r]))
  const asked = [...new Set(request.run_numbers)]
  const missing = asked.filter((n) => !byNumber.has(n))
  if (missing.length > 0) throw new ApiError(404, 'run_not_found', `job ${job.id} has no run ${listed(missing)}`)
  const open = asked.filter((n) => {
    const run = byNumber.get(n)!
    return !isTerminalRunStatus(run.status) && !reopenedByThis(run)
  })
  if (open.length > 0) throw notEnded(open)
  return asked
}

function notEnded(runNumbers: readonly number[]): ApiError {
  return new ApiError(
    409,
    'run_not_finished',
    `run ${listed(runNumbers)} has not ended: only an ended run can be retried`,
  )
}

/** Run numbers for a message: the first 20 (a request may name 10 000). */
function listed(runNumbers: readonly number[]): string {
  return runNumbers.slice(0, 20).join(', ') + (runNumbers.length > 20 ? ', …' : '')
}

/**
 * Stores the key a retry brings when the job needs one and has none (its key went when it ended).
 * Returns whether it stored one.
 */
async function provideKey(deps: RetryDeps, job: JobRow, key: string | undefined): Promise<boolean> {
  if (await findJobSecret(deps.db, job.id)) return false
  if (!key) {
    if (!job.with_key) return false
    throw new ApiError(
      422,
      'openrouter_key_required',
      `job ${job.id} has ended and its key was deleted then: send it again as openrouter_key to retry its runs`,
      'openrouter_key',
    )
  }
  await storeJobSecret(deps.db, job.id, seal(deps.masterKey, key, job.id))
  await markJobWithKey(deps.db, job.id)
  return true
}

/** An ended job opened again is one more of its owner's jobs not yet ended, with all its runs. */
async function withinOwnerLimits(deps: RetryDeps, job: JobRow): Promise<void> {
  try {
    await deps.db.transaction().execute((trx) => checkOwnerLimits(trx, job.owner_token_id, job.n_runs, deps.limits))
  } catch (err) {
    if (err instanceof OwnerLimitError) throw new ApiError(429, `too_many_${err.limit}`, err.message)
    throw err
  }
}
