/**
 * RunWorkflow: one run of a job, as many attempts as it takes. Each attempt is placed on a host,
 * staged, run, collected and cleaned up there; an `infra` or `harness` error starts a new attempt
 * after a backoff, up to `maxAttempts`; the run's outcome is its last attempt's.
 *
 * Input carries ids only, never the key or file contents.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  sleep,
} from '@temporalio/workflow'
import { errorOutcome, type AttemptOutcome } from '../shared/outcome.js'
import type { HostActivities, HarnessRun } from '../activities/host-activities.js'
import type { JobActivities } from '../activities/job-activities.js'
import { RETRYABLE_ERROR_CLASSES, type RunOutcome } from '../shared/status.js'

export interface RunWorkflowInput {
  jobId: string
  runNumber: number
  maxAttempts: number
}

export interface RunSummary {
  runNumber: number
  outcome: RunOutcome
  attempts: number
}

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['RunNotFound'] },
})

function hostActivities(taskQueue: string) {
  const quick = proxyActivities<HostActivities>({
    taskQueue,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['RunNotFound', 'TaskMissing'] },
  })
  const harness = proxyActivities<HostActivities>({
    taskQueue,
    // The activity stops its harness at the job's time limit (RUN_TIME_LIMIT_MAX_SEC at most, 6
    // days); this is only the outer fence.
    startToCloseTimeout: '7 days',
    // How soon a dead worker is noticed and the harness re-attached by another.
    heartbeatTimeout: '20 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 10 },
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
  for (let attempt = 1; ; attempt++) {
    const placed = await db.beginAttempt({ jobId, runNumber, attempt })
    setCurrentDetails(`attempt ${attempt} on host ${placed.hostId}`)
    const ref = { jobId, runId: placed.runId, runNumber, attempt }
    const host = hostActivities(placed.hostTaskQueue)

    let harness: HarnessRun | null = null
    let outcome: AttemptOutcome
    try {
      await host.stageTask(ref)
      // These two move the run to `running` and `collecting` as they begin.
      harness = await host.runHarness(ref)
      outcome = await host.collectResults({ ...ref, harness })
    } catch (err) {
      if (isCancellation(err)) throw err
      outcome = infraError(err)
    }

    const retry = outcome.error_class !== null && RETRYABLE_ERROR_CLASSES.includes(outcome.error_class)
    const last = !retry || attempt >= input.maxAttempts
    await CancellationScope.nonCancellable(async () => {
      await db.recordAttempt({ runId: placed.runId, attempt, outcome, harness: harnessTimes(harness), completeRun: last })
      // After the record: a host that fails to clean up delays nothing (its sweep catches leftovers).
      await host.cleanupAttempt({ jobId, runNumber, attempt, runFinished: last }).catch(() => undefined)
    })
    if (last) return { runNumber, outcome: outcome.outcome, attempts: attempt }
    await sleep(Math.min(5_000 * 2 ** (attempt - 1), 60_000))
  }
}

function harnessTimes(h: HarnessRun | null) {
  if (!h) return null
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return { exitCode: h.exitCode, startedAt: iso(h.startedAtMs), finishedAt: iso(h.finishedAtMs) }
}

/** A step that failed after its own retries: the host, the network or the disk let us down. */
function infraError(err: unknown): AttemptOutcome {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err
  return errorOutcome('infra', cause instanceof Error ? cause.message : String(cause))
}
