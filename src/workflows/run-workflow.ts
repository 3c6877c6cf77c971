/**
 * RunWorkflow: one run of a job, as many attempts as it takes. Each attempt is placed on a host,
 * then staged, run and collected there by one activity, recorded, and cleaned up; an `infra` or
 * `harness` error starts a new attempt after a backoff, up to `maxAttempts`; the run's outcome is
 * its last attempt's. A retried run (its job's retryRuns) is a new workflow of the same run, whose
 * attempts carry on the numbering.
 *
 * Few round trips per run: placement and the record are local activities (database work, done by
 * the workflow's own worker within its workflow task), and the attempt one activity on its host.
 * At hundreds of concurrent runs each activity task and workflow task costs the Temporal server.
 *
 * A host whose worker does not take up the attempt in time (it died, or lost its host) is passed
 * over: the attempt moves to another host without counting as a failure, unless it had begun there
 * (its harness may be running), when the workflow waits on for the host's workers a while longer.
 *
 * Cancelled, the run stops its harness (the activity sends SIGTERM and waits for Harbor's own
 * clean-up), frees its slot, removes its files from the host and ends `cancelled`, its log kept.
 *
 * Input carries ids only, never the key or file contents.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow'
import { TimeoutType } from '@temporalio/common'
import { errorOutcome, type AttemptOutcome } from '../shared/outcome.js'
import { HOST_ACTIVITY_NON_RETRYABLE, JOB_ACTIVITY_NON_RETRYABLE } from '../outcomes/activity-failures.js'
import { isRetryable, SERVICE_ERROR_CLASSES } from '../outcomes/retry.js'
import type { HostActivities, HarnessRun } from '../activities/host-activities.js'
import type { JobActivities, PlacedAttempt } from '../activities/job-activities.js'
import type { RunOutcome } from '../shared/status.js'

export interface RunWorkflowInput {
  jobId: string
  runNumber: number
  maxAttempts: number
  /** A retried run carries on its attempts' numbering from here (1 for a run's first workflow). */
  firstAttempt?: number
}

export interface RunSummary {
  runNumber: number
  outcome: RunOutcome | 'cancelled'
  attempts: number
}

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: JOB_ACTIVITY_NON_RETRYABLE,
  },
})

/** Quick database steps, run by this workflow's worker inside its workflow task. */
const local = proxyLocalActivities<JobActivities>({
  startToCloseTimeout: '30 seconds',
  // Past this the SDK schedules the retry as a timer rather than keeping the workflow task open.
  localRetryThreshold: '10 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: JOB_ACTIVITY_NON_RETRYABLE,
  },
})

/** Waiting for a free slot can take as long as the runs ahead take. */
const placement = proxyActivities<JobActivities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: JOB_ACTIVITY_NON_RETRYABLE,
  },
})

/** How many times an attempt that began on a host is scheduled again there while no worker takes it. */
const WAITS_FOR_A_BEGUN_ATTEMPT = 5

function hostActivities(taskQueue: string) {
  const attempt = proxyActivities<HostActivities>({
    taskQueue,
    // No worker of the host took it up in this long: the host is gone (see runAttempt).
    scheduleToStartTimeout: '1 minute',
    // The activity stops its harness at the job's time limit (RUN_TIME_LIMIT_MAX_SEC at most, 6
    // days); this is only the outer fence.
    startToCloseTimeout: '7 days',
    // How soon a dead worker is noticed and the harness re-attached by another.
    heartbeatTimeout: '20 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // Enough to ride out an SSH outage of a few minutes; then the attempt fails as infra.
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      maximumAttempts: 25,
      nonRetryableErrorTypes: HOST_ACTIVITY_NON_RETRYABLE,
    },
  })
  const cleanup = proxyActivities<HostActivities>({
    taskQueue,
    scheduleToStartTimeout: '1 minute',
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: HOST_ACTIVITY_NON_RETRYABLE },
  })
  // (Activity proxies are Proxy objects: pick the functions, don't spread them.)
  return { runAttempt: attempt.runAttempt, cleanupAttempt: cleanup.cleanupAttempt }
}

export async function runWorkflow(input: RunWorkflowInput): Promise<RunSummary> {
  const { jobId, runNumber } = input
  let placed: PlacedAttempt | null = null
  const first = input.firstAttempt ?? 1
  let attempt = first
  try {
    for (; ; attempt++) {
      const { outcome, harness } = await runAttempt(input, attempt, (p) => (placed = p))
      const retry = isRetryable(outcome.error_class)
      const last = !retry || attempt >= first + input.maxAttempts - 1
      await CancellationScope.nonCancellable(async () => {
        await local.recordAttempt({ runId: placed!.runId, attempt, outcome, harness, completeRun: last })
        // After the record: a host that fails to clean up delays nothing (its sweep catches leftovers).
        await hostActivities(placed!.hostTaskQueue)
          .cleanupAttempt({ jobId, runNumber, attempt, runFinished: last })
          .catch(() => undefined)
      })
      if (last) return { runNumber, outcome: outcome.outcome, attempts: attempt }
      await sleep(Math.min(5_000 * 2 ** (attempt - 1), 60_000))
    }
  } catch (err) {
    if (!isCancellation(err)) throw err
    await CancellationScope.nonCancellable(async () => {
      await db.cancelRun({ jobId, runNumber, attempt })
      const p = placed as PlacedAttempt | null
      if (p) {
        await hostActivities(p.hostTaskQueue)
          .cleanupAttempt({ jobId, runNumber, attempt, runFinished: true })
          .catch(() => undefined)
      }
    })
    throw err
  }
}

/** One attempt, placed (and moved off hosts that do not answer), staged, run and collected. */
async function runAttempt(
  { jobId, runNumber }: RunWorkflowInput,
  attempt: number,
  onPlaced: (p: PlacedAttempt) => void,
): Promise<{ outcome: AttemptOutcome; harness: HarnessTimes | null }> {
  const avoid: string[] = []
  for (;;) {
    const input = { jobId, runNumber, attempt, avoid }
    // A host with room is found at once; only when none has room is there a wait (a long activity).
    const p = (await local.tryPlaceAttempt(input)) ?? (await placement.placeAttempt(input))
    onPlaced(p)
    setCurrentDetails(`attempt ${attempt} on host ${p.hostId}`)
    const ref = { jobId, runId: p.runId, runNumber, attempt }
    const host = hostActivities(p.hostTaskQueue)
    for (let waits = 1; ; waits++) {
      try {
        // It moves the run to `running` and `collecting` as it gets there.
        const { outcome, harness } = await host.runAttempt(ref)
        return { outcome, harness: timesOf(harness) }
      } catch (err) {
        if (isCancellation(err)) throw err
        if (!isScheduleToStartTimeout(err)) return { outcome: infraError(err), harness: null }
        // Not begun: nothing of it is on the host, so it can go elsewhere.
        if (!(await local.attemptBegan({ runId: p.runId }))) break
        // Begun (its worker died): its harness may run on; wait for a worker of the host to re-attach.
        if (waits >= WAITS_FOR_A_BEGUN_ATTEMPT) return { outcome: infraError(err), harness: null }
      }
    }
    avoid.push(p.hostId)
  }
}

type HarnessTimes = ReturnType<typeof timesOf>

function timesOf(h: HarnessRun) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return { exitCode: h.exitCode, startedAt: iso(h.startedAtMs), finishedAt: iso(h.finishedAtMs) }
}

function isScheduleToStartTimeout(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  )
}

/** A step that failed after its own retries: the host, the network or the disk let us down. */
function infraError(err: unknown): AttemptOutcome {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err
  return errorOutcome(SERVICE_ERROR_CLASSES.stepFailed, cause instanceof Error ? cause.message : String(cause))
}
