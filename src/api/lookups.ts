/** Finding what a route's path names, or the 4xx that says why not. */
import type { Db } from '../db/database.js'
import { findJob } from '../db/jobs.js'
import { findRun } from '../db/runs.js'
import type { JobRow, RunRow } from '../db/schema.js'
import { canSee, type Principal } from './auth.js'
import { ApiError } from './errors.js'
import { jobIdParam, runNumberParam } from './params.js'

/** The job, if `principal` may see it; another token's job is "not found" (its existence is not told). */
export function requireJob(db: Db, principal: Principal, jobIdRaw: string | undefined): Promise<JobRow> {
  return requireJobAs(principal, jobIdRaw, (jobId) => findJob(db, jobId))
}

/** The same, read by `find`: a job row with more beside it. */
export async function requireJobAs<J extends JobRow>(
  principal: Principal,
  jobIdRaw: string | undefined,
  find: (jobId: string) => Promise<J | undefined>,
): Promise<J> {
  const jobId = jobIdParam(jobIdRaw)
  const job = await find(jobId)
  if (!job || !canSee(principal, job)) throw new ApiError(404, 'job_not_found', `no job ${jobId}`)
  return job
}

export async function requireRun(
  db: Db,
  principal: Principal,
  jobIdRaw: string | undefined,
  runNumberRaw: string | undefined,
): Promise<RunRow> {
  const job = await requireJob(db, principal, jobIdRaw)
  const runNumber = runNumberParam(runNumberRaw)
  const run = await findRun(db, job.id, runNumber)
  if (!run) throw new ApiError(404, 'run_not_found', `job ${job.id} has no run ${runNumber}`)
  return run
}
