/**
 * RunWorkflow: one run of a job, as many attempts as it takes. Each attempt is placed on a host,
 * staged, run, collected and cleaned up there; an `infra` or `harness` error starts a new attempt
 * after a backoff, up to `maxAttempts`; the run's outcome is its last attempt's.
 *
 * A host whose worker does not take up the staging in time (it died, or lost its host) is passed
 * over: the attempt moves to another host without counting as a failure. Cancelled, the run stops
 * its harness (the activity sends SIGTERM and waits for Harbor's own clean-up), frees its slot, removes
 * its files from the host and ends `cancelled`, its log kept.
 *
 * Input carries ids only, never the key or file contents.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow'
import { TimeoutType } from '@temporalio/common'
import { errorOutcome, type AttemptOutcome } from '../shared/outcome.js'
import type { HostActivities, HarnessRun } from '../activities/host-activities.js'
import type { JobActivities, PlacedAttempt } from '../activities/job-activities.js'
import { RETRYABLE_ERROR_CLASSES, type RunOutcome } from '../shared/status.js'

export interface RunWorkflowInput {
  jobId: string
  runNumber: number
  maxAttempts: number
}

export interface RunSummary {
  runNumber: number
  outcome: RunOutcome | 'cancelled'
  attempts: number
}

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['RunNotFound'] },
})

/** Waiting for a free slot can take as long as the runs ahead take. */
const placement = proxyActivities<JobActivities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['RunNotFound'] },
})

const NON_RETRYABLE = ['RunNotFound', 'TaskMissing', 'HarnessMissing']

function hostActivities(taskQueue: string) {
  const quick = proxyActivities<HostActivities>({
    taskQueue,
    // No worker of the host took it up in this long: the host is gone, try another.
    scheduleToStartTimeout: '1 minute',
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
  })
  const harness = proxyActivities<HostActivities>({
    taskQueue,
    // The host's workers are all gone: the attempt fails as infra and the run retries elsewhere.
    scheduleToStartTimeout: '5 minutes',
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
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  })
  // (Activity proxies are Proxy objects: pick the functions, don't spread them.)
  return {
    stageTask: quick.stageTask,
    runHarness: harness.runHarness,
    collectResults: quick.collectResults,
    cleanupAttempt: quick.cleanupAttempt,
  }
}

export async function runWorkflow(input: RunWorkflowInput): Promise<RunSummary> {
  const { jobId, runNumber } = input
  let placed: PlacedAttempt | null = null
  let attempt = 1
  try {
    for (; ; attempt++) {
      const { outcome, harness } = await runAttempt(input, attempt, (p) => (placed = p))
      const retry = outcome.error_class !== null && RETRYABLE_ERROR_CLASSES.includes(outcome.error_class)
      const last = !retry || attempt >= input.maxAttempts
      await CancellationScope.nonCancellable(async () => {
        await db.recordAttempt({ runId: placed!.runId, attempt, outcome, harness, completeRun: last })
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
    const p = await placement.placeAttempt({ jobId, runNumber, attempt, avoid })
    onPlaced(p)
    setCurrentDetails(`attempt ${attempt} on host ${p.hostId}`)
    const ref = { jobId, runId: p.runId, runNumber, attempt }
    const host = hostActivities(p.hostTaskQueue)
    try {
      await host.stageTask(ref)
    } catch (err) {
      if (isCancellation(err)) throw err
      if (isScheduleToStartTimeout(err)) {
        avoid.push(p.hostId)
        continue
      }
      return { outcome: infraError(err), harness: null }
    }
    let harness: HarnessRun | null = null
    try {
      // These two move the run to `running` and `collecting` as they begin.
      harness = await host.runHarness(ref)
      return { outcome: await host.collectResults({ ...ref, harness }), harness: timesOf(harness) }
    } catch (err) {
      if (isCancellation(err)) throw err
      return { outcome: infraError(err), harness: harness && timesOf(harness) }
    }
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
  return errorOutcome('infra', cause instanceof Error ? cause.message : String(cause))
}
