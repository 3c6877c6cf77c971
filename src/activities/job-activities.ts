/**
 * Activities on the job's bookkeeping in PostgreSQL. They run on the service's main task queue.
 * Every one is idempotent: Temporal may run an activity more than once.
 */
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity'
import type { Db } from '../db/database.js'
import { finishJob, markJobRunning } from '../db/jobs.js'
import { KeyRequiredError, reopenJob, reopenRuns, setJobPaused } from '../db/run-retries.js'
import type { RetriedRun } from '../shared/job-control.js'
import { placeAttempt } from '../db/hosts.js'
import {
  cancelRun,
  cancelUnfinishedRuns,
  completeRun,
  finishAttempt,
  findRun,
  findRunById,
  listRuns,
  setRunStatus,
  type HarnessTimes,
} from '../db/runs.js'
import type { AttemptOutcome } from '../shared/outcome.js'
import { computeJobMetrics, type JobMetrics } from '../metrics/job-metrics.js'
import { hostTaskQueue } from '../shared/ids.js'
import type { JobStatus } from '../shared/status.js'
import type { Logger } from '../logger.js'
import { ACTIVITY_FAILURES } from '../outcomes/activity-failures.js'
import { isRetryable } from '../outcomes/retry.js'
import { activityLogger } from './activity-log.js'

export interface JobActivityDeps {
  db: Db
  /** The service's main task queue; host queues are derived from it. */
  taskQueue: string
  /** How long placement waits between looks for a free slot. */
  placementPollMs?: number
  logger?: Logger
}

export interface RunRef {
  jobId: string
  runNumber: number
}

export interface PlacedAttempt {
  runId: string
  hostId: string
  /** The task queue of the workers that act on that host. */
  hostTaskQueue: string
}

export interface JobSummary {
  status: JobStatus
  metrics: JobMetrics
}

export function createJobActivities({ db, taskQueue, placementPollMs = 1000, logger }: JobActivityDeps) {
  async function runIdOf(ref: RunRef): Promise<string> {
    const run = await findRun(db, ref.jobId, ref.runNumber)
    if (!run)
      throw ApplicationFailure.nonRetryable(
        `run ${ref.runNumber} of job ${ref.jobId} does not exist`,
        ACTIVITY_FAILURES.runNotFound,
      )
    return run.id
  }

  async function tryPlace(input: RunRef & { attempt: number; avoid?: string[] }): Promise<PlacedAttempt | null> {
    const runId = await runIdOf(input)
    const hostId = await placeAttempt(db, runId, input.attempt, input.avoid ?? [])
    if (!hostId) return null
    const note = [input.attempt > 1 ? `attempt ${input.attempt}` : null, `on ${hostId}`].filter(Boolean).join(', ')
    await setRunStatus(db, runId, 'staging', input.attempt, note)
    activityLogger(logger, 'placeAttempt', { ...input, runId }).info('attempt placed', { host: hostId })
    return { runId, hostId, hostTaskQueue: hostTaskQueue(taskQueue, hostId) }
  }

  return {
    async markJobRunning(jobId: string): Promise<void> {
      await markJobRunning(db, jobId)
      activityLogger(logger, 'markJobRunning', { jobId }).debug('job running')
    },

    /**
     * Places attempt `attempt` of a run on the live, healthy host with the most free slots (not on
     * `avoid`), opens or moves its record, and moves the run to `staging`. While every host is full
     * or down it waits, heartbeating, and the run stays `queued`.
     */
    async placeAttempt(input: RunRef & { attempt: number; avoid?: string[] }): Promise<PlacedAttempt> {
      let waiting = false
      for (;;) {
        const placed = await tryPlace(input)
        if (placed) return placed
        if (!waiting) {
          waiting = true
          activityLogger(logger, 'placeAttempt', input).debug('every host is full or down: waiting for a slot', {
            avoid: input.avoid ?? [],
          })
        }
        heartbeat()
        // Cancellation-aware: a cancelled run stops waiting here.
        await Context.current().sleep(placementPollMs)
      }
    },

    /**
     * placeAttempt without the wait: null when every host is full or down. Quick, so the workflow
     * runs it as a local activity first, and waits in placeAttempt only when it finds no room.
     */
    tryPlaceAttempt: tryPlace,

    /**
     * Whether the attempt's host activity began: it moves the run to `running` before it starts
     * the harness. A run still `staging` has no harness on its host, so it may be placed elsewhere.
     */
    async attemptBegan(input: { runId: string }): Promise<boolean> {
      const run = await findRunById(db, input.runId)
      return run !== undefined && run.status !== 'queued' && run.status !== 'staging'
    },

    /** Records how an attempt ended; with `completeRun`, also completes the run with that outcome. */
    async recordAttempt(input: {
      runId: string
      attempt: number
      outcome: AttemptOutcome
      harness: HarnessTimes | null
      completeRun: boolean
    }): Promise<void> {
      await finishAttempt(db, input.runId, input.attempt, input.outcome, input.harness)
      if (input.completeRun) await completeRun(db, input.runId, input.attempt, input.outcome)
      const run = await findRunById(db, input.runId)
      activityLogger(logger, 'recordAttempt', {
        jobId: run?.job_id ?? 'unknown',
        runId: input.runId,
        runNumber: run?.run_number,
        attempt: input.attempt,
      }).info(input.completeRun ? 'run completed' : 'attempt recorded; the run tries again', {
        outcome: input.outcome.outcome,
        error_class: input.outcome.error_class,
        reward: input.outcome.reward,
      })
    },

    /** Marks the job paused or resumed, as its workflow has just become. */
    async setJobPaused(input: { jobId: string; paused: boolean }): Promise<void> {
      await setJobPaused(db, input.jobId, input.paused)
      activityLogger(logger, 'setJobPaused', { jobId: input.jobId }).info(input.paused ? 'job paused' : 'job resumed')
    },

    /** Reopens the ended runs among `runNumbers` for a retry (src/db/run-retries.ts); idempotent per request. */
    async reopenRuns(input: { jobId: string; runNumbers: number[]; requestId: string }): Promise<RetriedRun[]> {
      const retried = await reopenRuns(db, input.jobId, input.runNumbers, input.requestId).catch((err: unknown) => {
        if (err instanceof KeyRequiredError)
          throw ApplicationFailure.nonRetryable(err.message, ACTIVITY_FAILURES.keyRequired)
        throw err
      })
      activityLogger(logger, 'reopenRuns', { jobId: input.jobId }).info('runs reopened for a retry', {
        asked: input.runNumbers.length,
        reopened: retried.map((r) => r.runNumber),
      })
      return retried
    },

    /** Moves an ended job back to running: retries came while it was being recorded as ended. */
    async reopenJob(jobId: string): Promise<void> {
      await reopenJob(db, jobId)
      activityLogger(logger, 'reopenJob', { jobId }).info('job reopened for retried runs')
    },

    /** Ends a run as cancelled and frees its slot (its log stays). */
    async cancelRun(input: RunRef & { attempt: number }): Promise<void> {
      const run = await findRun(db, input.jobId, input.runNumber)
      if (run) await cancelRun(db, run.id, input.attempt)
      activityLogger(logger, 'cancelRun', { ...input, runId: run?.id }).info('run cancelled')
    },

    /**
     * Computes the job's metrics from its runs, records its final status and purges its secret.
     * The job `failed` when nothing could run at all: no run was judged, and every run ended in an
     * error of the infrastructure or the harness.
     */
    async finalizeJob(input: { jobId: string; cancelled?: boolean }): Promise<JobSummary> {
      if (input.cancelled) await cancelUnfinishedRuns(db, input.jobId)
      const runs = await listRuns(db, input.jobId)
      const metrics = computeJobMetrics(runs)
      const nothingRan = runs.length > 0 && runs.every((r) => r.outcome === 'error' && isRetryable(r.error_class))
      const status = input.cancelled ? 'cancelled' : nothingRan ? 'failed' : 'completed'
      const error =
        status === 'failed' ? `no run could be carried out; first error: ${runs[0]?.error_message ?? 'unknown'}` : null
      await finishJob(db, input.jobId, status, metrics, error)
      activityLogger(logger, 'finalizeJob', { jobId: input.jobId }).info('job finished', {
        status,
        runs: runs.length,
        ...metrics.counts,
        pass_at_1: metrics.pass_at_k['1'] ?? null,
      })
      return { status, metrics }
    },
  }
}

export type JobActivities = ReturnType<typeof createJobActivities>
