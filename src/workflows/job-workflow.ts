/**
 * JobWorkflow: one evaluation job. Starts a RunWorkflow child per run, at most `maxParallel` at
 * once, with deterministic ids; one run's failure never fails the job. A job of more than
 * RUNS_PER_GROUP runs starts them through run group workflows instead (see run-group.ts), each
 * with its share of `maxParallel`. When every run has ended it records the job's metrics and final
 * status through an activity (which also purges the key).
 *
 * Controlled by updates (job-control.ts): paused, it starts no run until resumed; retried runs start
 * again as workflows of their own, at most `maxParallel` at once, and the job ends once they have
 * too. A retry that comes while the job is being recorded as ended waits for the record, then opens
 * the job again; one that comes after it ended starts the workflow anew (`reopen`), for the retried
 * runs only.
 *
 * Cancelled (POST /api/jobs/{id}/cancel), it starts no more runs, waits for the running ones to
 * cancel (each stops its harness and cleans its host), cancels those that never started, and ends
 * `cancelled` with the metrics of what did run.
 */
import {
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow'
import type { JobActivities, JobSummary } from '../activities/job-activities.js'
import { runRetryWorkflowId } from '../shared/ids.js'
import { controlJob, type JobControl } from './job-control.js'
import {
  groupWorkflowOptions,
  planGroups,
  runChildren,
  runGroupWorkflow,
  RUNS_PER_GROUP,
  type RunsLabel,
} from './run-group.js'
import { runWorkflow } from './run-workflow.js'

export interface JobWorkflowInput {
  jobId: string
  nRuns: number
  maxParallel: number
  maxAttempts: number
  /** Shown in the Temporal Web UI; not used for anything else. */
  label: RunsLabel
  /** Started again after the job ended, to run retried runs only. */
  reopen?: boolean
}

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
})

export async function jobWorkflow(input: JobWorkflowInput): Promise<JobSummary> {
  const { jobId, nRuns, maxParallel } = input
  const control = controlJob(jobId)
  let firstPassDone = input.reopen === true
  for (;;) {
    try {
      if (!firstPassDone) await db.markJobRunning(jobId)
      const firstPass = firstPassDone ? Promise.resolve() : startRuns().finally(() => (firstPassDone = true))
      await Promise.all([firstPass, startRetries(input, control, () => firstPassDone)])
    } catch (err) {
      if (!isCancellation(err)) throw err
    }
    const cancelled = CancellationScope.current().consideredCancelled
    control.finalizing = true
    const summary = await CancellationScope.nonCancellable(() => db.finalizeJob({ jobId, cancelled }))
    control.finalizing = false
    if (cancelled) throw new CancelledFailure('job cancelled')
    // A retry's handler may still be reopening runs: wait for it, then see whether any were.
    await condition(allHandlersFinished)
    if (control.retries.length === 0) return summary
    await db.reopenJob(jobId)
  }

  /** The job's runs, each once: by the workflow itself, or through groups for a large job. */
  async function startRuns(): Promise<void> {
    // (Jobs that began before groups existed replay without them.)
    if (nRuns > RUNS_PER_GROUP && patched('run-groups')) await runGroups()
    else
      await runChildren(
        { ...input, first: 1, last: nRuns },
        () => control.paused(),
        (finished) => `${finished}/${nRuns} runs finished`,
      )
  }

  /** A large job: its runs started by groups side by side; they end once their runs have (or cancelled). */
  async function runGroups() {
    const groups = planGroups(nRuns, maxParallel)
    let finished = 0
    const ended = groups.map((g, i) => {
      const options = groupWorkflowOptions(jobId, i + 1, {
        ...input,
        first: g.first,
        last: g.last,
        maxParallel: g.maxParallel,
        paused: control.paused(),
      })
      control.groups.push(options.workflowId)
      return (
        executeChild(runGroupWorkflow, options)
          // A group's outcome is its runs' (each recorded its own); cancelled, it ended once they did.
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => setCurrentDetails(`${++finished}/${groups.length} groups of runs finished`))
      )
    })
    await CancellationScope.nonCancellable(() => Promise.all(ended))
  }
}

/**
 * Starts retried runs as they are queued, at most `maxParallel` at once and none while the job is
 * paused; resolves once the first pass is over and no retry is waiting or running. Cancelled, it
 * starts no more and waits, uncancellable, for the started ones to cancel.
 */
async function startRetries(input: JobWorkflowInput, control: JobControl, firstPassDone: () => boolean) {
  const { jobId, maxParallel, maxAttempts, label } = input
  let running = 0
  const children: Promise<void>[] = []
  try {
    for (;;) {
      await condition(
        () =>
          (control.retries.length > 0 && running < maxParallel && !control.paused()) ||
          // (A retry being received is not over until its runs are queued.)
          (firstPassDone() && control.retries.length === 0 && running === 0 && allHandlersFinished()),
      )
      const next = control.retries.shift()
      if (!next) break
      running++
      const child = executeChild(runWorkflow, {
        workflowId: runRetryWorkflowId(jobId, next.runNumber, next.retry),
        args: [{ jobId, runNumber: next.runNumber, maxAttempts, firstAttempt: next.firstAttempt }],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        memo: { jobId, runNumber: next.runNumber, retry: next.retry, model: label.model, agent: label.agent },
        staticSummary: `retry ${next.retry} of run ${next.runNumber} of ${label.taskName} · ${label.agent} · ${label.model}`,
      })
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => running--)
      children.push(child)
    }
  } catch (err) {
    if (!isCancellation(err)) throw err
  }
  await CancellationScope.nonCancellable(() => Promise.all(children))
}
