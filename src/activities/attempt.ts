/** One attempt as the host activities know it: its ids, what its harness came to, and its job, run and paths on the host. */
import { ApplicationFailure, heartbeat } from '@temporalio/activity'
import { findRunWithJob } from '../db/runs.js'
import type { JobRow, JobTaskRow, RunRow } from '../db/schema.js'
import type { AttemptPaths, HarnessDriver } from '../harness/driver.js'
import { isHarnessName } from '../harness/registry.js'
import { ACTIVITY_FAILURES } from '../outcomes/activity-failures.js'
import { hostAttemptDir } from '../shared/ids.js'
import type { HostActivityDeps } from './host-deps.js'

export interface AttemptRef {
  jobId: string
  runId: string
  runNumber: number
  attempt: number
}

export interface HarnessRun {
  state: 'exited' | 'lost'
  exitCode: number | null
  startedAtMs: number | null
  finishedAtMs: number | null
  /** Set when it was stopped for running past the job's time limit: the phase it was in then. */
  overdue: { phase: string | null } | null
}

export interface AttemptContext {
  job: JobRow
  /** The job task the run is a run of. */
  task: JobTaskRow
  run: RunRow
  driver: HarnessDriver
  paths: AttemptPaths
}

/** The job, the run and its task, this host's driver for the job's harness, and the attempt's paths on the host. */
export async function attemptContext(deps: HostActivityDeps, ref: Omit<AttemptRef, 'runId'>): Promise<AttemptContext> {
  const found = await findRunWithJob(deps.db, ref.jobId, ref.runNumber)
  if (!found)
    throw ApplicationFailure.nonRetryable(
      `run ${ref.runNumber} of job ${ref.jobId} does not exist`,
      ACTIVITY_FAILURES.runNotFound,
    )
  const { harness } = found.job
  const driver = isHarnessName(harness) ? deps.drivers[harness] : undefined
  if (!driver) {
    throw ApplicationFailure.nonRetryable(
      `host ${deps.host.id} cannot run the ${found.job.harness} harness: it is not installed there`,
      ACTIVITY_FAILURES.harnessMissing,
    )
  }
  const paths = driver.paths(ref, found.job, found.task, hostAttemptDir(ref.jobId, ref.runNumber, ref.attempt))
  return { ...found, driver, paths }
}

/** Runs `work`, heartbeating every few seconds meanwhile (for steps that may outlast the heartbeat timeout). */
export async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => heartbeat(), 5_000)
  try {
    return await work()
  } finally {
    clearInterval(timer)
  }
}
