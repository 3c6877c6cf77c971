/** Finding what a route's path names, or the 4xx that says why not. */
import type { Db } from '../db/database.js'
import { findJob } from '../db/jobs.js'
import { findRun } from '../db/runs.js'
import type { JobRow, RunRow } from '../db/schema.js'
import { ApiError } from './errors.js'
import { jobIdParam, runNumberParam } from './params.js'

export async function requireJob(db: Db, jobIdRaw: string | undefined): Promise<JobRow> {
  const jobId = jobIdParam(jobIdRaw)
  const job = await findJob(db, jobId)
  if (!job) throw new ApiError(404, 'job_not_found', `no job ${jobId}`)
  return job
}

export async function requireRun(
  db: Db,
  jobIdRaw: string | undefined,
  runNumberRaw: string | undefined,
): Promise<RunRow> {
  const jobId = jobIdParam(jobIdRaw)
  const runNumber = runNumberParam(runNumberRaw)
  const run = await findRun(db, jobId, runNumber)
  if (run) return run
  throw (await findJob(db, jobId))
    ? new ApiError(404, 'run_not_found', `job ${jobId} has no run ${runNumber}`)
    : new ApiError(404, 'job_not_found', `no job ${jobId}`)
}
