/**
 * JobWorkflow: one evaluation job. Starts a RunWorkflow child per run, at most `maxParallel` at
 * once, with deterministic ids; one run's failure never fails the job. A job of more than
 * RUNS_PER_GROUP runs starts them through run group workflows instead (see run-group.ts), each
 * with its share of `maxParallel`. When every run has ended it records the job's metrics and final
 * status through an activity (which also purges the key).
 *
 * Cancelled (POST /api/jobs/{id}/cancel), it starts no more runs, waits for the running ones to
 * cancel (each stops its harness and cleans its host), cancels those that never started, and ends
 * `cancelled` with the metrics of what did run.
 */
import {
  CancellationScope,
  CancelledFailure,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow'
import type { JobActivities, JobSummary } from '../activities/job-activities.js'
import {
  groupWorkflowOptions,
  planGroups,
  runChildren,
  runGroupWorkflow,
  RUNS_PER_GROUP,
  type RunsLabel,
} from './run-group.js'

export interface JobWorkflowInput {
  jobId: string
  nRuns: number
  maxParallel: number
  maxAttempts: number
  /** Shown in the Temporal Web UI; not used for anything else. */
  label: RunsLabel
}

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
})

export async function jobWorkflow(input: JobWorkflowInput): Promise<JobSummary> {
  const { jobId, nRuns, maxParallel } = input
  try {
    await db.markJobRunning(jobId)
    // (Jobs that began before groups existed replay without them.)
    if (nRuns > RUNS_PER_GROUP && patched('run-groups')) await runGroups()
    else await runChildren({ ...input, first: 1, last: nRuns }, (finished) => `${finished}/${nRuns} runs finished`)
  } catch (err) {
    if (!isCancellation(err)) throw err
  }
  const cancelled = CancellationScope.current().consideredCancelled
  const summary = await CancellationScope.nonCancellable(() => db.finalizeJob({ jobId, cancelled }))
  if (cancelled) throw new CancelledFailure('job cancelled')
  return summary

  /** A large job: its runs started by groups side by side; they end once their runs have (or cancelled). */
  async function runGroups() {
    const groups = planGroups(nRuns, maxParallel)
    let finished = 0
    const ended = groups.map((g, i) =>
      executeChild(
        runGroupWorkflow,
        groupWorkflowOptions(jobId, i + 1, { ...input, first: g.first, last: g.last, maxParallel: g.maxParallel }),
      )
        // A group's outcome is its runs' (each recorded its own); cancelled, it ended once they did.
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => setCurrentDetails(`${++finished}/${groups.length} groups of runs finished`)),
    )
    await CancellationScope.nonCancellable(() => Promise.all(ended))
  }
}
