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
 * runs only (and, if it reopened none, ends at once, the job left as it was recorded).
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
  startChild,
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
  type RunSlots,
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

export async function jobWorkflow(input: JobWorkflowInput): Promise<JobSummary | null> {
  const { jobId, nRuns, maxParallel } = input
  const control = controlJob(jobId)
  // The job's own runs and its retried ones share max_parallel (a large job's groups hold theirs).
  const slots: RunSlots = { running: 0 }
  let grouped = false
  let firstPassDone = input.reopen === true
  if (input.reopen) {
    // Started again for a retry that reopened nothing (refused, or its runs not ended): the job
    // stays as it was recorded.
    await condition(allHandlersFinished)
    if (control.retries.length === 0) return null
  }
  for (;;) {
    try {
      if (!firstPassDone) await db.markJobRunning(jobId)
      const firstPass = firstPassDone ? Promise.resolve() : startRuns().finally(() => (firstPassDone = true))
      await Promise.all([
        firstPass,
        startRetries(input, control, slots, { done: () => firstPassDone, mayStart: () => firstPassDone || !grouped }),
      ])
    } catch (err) {
      if (!isCancellation(err)) throw err
    }
    const cancelled = CancellationScope.current().consideredCancelled
    const summary = await CancellationScope.nonCancellable(async () => {
      // A retry being received commits its runs before the record counts them (or cancels them).
      await condition(allHandlersFinished)
      control.finalizing = true
      const recorded = await db.finalizeJob({ jobId, cancelled })
      control.finalizing = false
      return recorded
    })
    if (cancelled) throw new CancelledFailure('job cancelled')
    const reopened = await CancellationScope.nonCancellable(async () => {
      // A retry that came while the job was being recorded: wait for it, then see whether it reopened runs.
      await condition(allHandlersFinished)
      if (control.retries.length === 0) return false
      control.endPause()
      await db.reopenJob(jobId)
      return true
    })
    // (Cancelled from here on, the next pass stops at once and records the job cancelled.)
    if (!reopened) return summary
  }

  /** The job's runs, each once: by the workflow itself, or through groups for a large job. */
  async function startRuns(): Promise<void> {
    // (Jobs that began before groups existed replay without them.)
    if (nRuns > RUNS_PER_GROUP && patched('run-groups')) {
      grouped = true
      await runGroups()
    } else
      await runChildren(
        { ...input, first: 1, last: nRuns },
        () => control.paused(),
        (finished) => `${finished}/${nRuns} runs finished`,
        slots,
      )
  }

  /** A large job: its runs started by groups side by side; they end once their runs have (or cancelled). */
  async function runGroups() {
    const groups = planGroups(nRuns, maxParallel)
    let finished = 0
    const ended = groups.map(async (g, i) => {
      const paused = control.paused()
      const options = groupWorkflowOptions(jobId, i + 1, {
        ...input,
        first: g.first,
        last: g.last,
        maxParallel: g.maxParallel,
        paused,
      })
      try {
        const group = await startChild(runGroupWorkflow, options)
        await control.groupStarted(options.workflowId, paused)
        await group.result()
      } catch {
        // A group's outcome is its runs' (each recorded its own); cancelled, it ended once they did.
      } finally {
        setCurrentDetails(`${++finished}/${groups.length} groups of runs finished`)
      }
    })
    await CancellationScope.nonCancellable(() => Promise.all(ended))
  }
}

/**
 * Starts retried runs as they are queued, sharing `maxParallel` with the job's own runs (`slots`;
 * beside a large job's groups, which hold all of it, only once they are done: `mayStart`), none
 * while the job is paused; resolves once the first pass is over and no retry is waiting or running.
 * Cancelled, it starts no more and waits, uncancellable, for the started ones to cancel.
 */
async function startRetries(
  input: JobWorkflowInput,
  control: JobControl,
  slots: RunSlots,
  pass: { done: () => boolean; mayStart: () => boolean },
) {
  const { jobId, maxParallel, maxAttempts, label } = input
  let retrying = 0
  const children: Promise<void>[] = []
  try {
    for (;;) {
      await condition(
        () =>
          (control.retries.length > 0 && pass.mayStart() && slots.running < maxParallel && !control.paused()) ||
          // (A retry being received is not over until its runs are queued.)
          (pass.done() && control.retries.length === 0 && retrying === 0 && allHandlersFinished()),
      )
      const next = control.retries.shift()
      if (!next) break
      retrying++
      slots.running++
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
        .finally(() => {
          retrying--
          slots.running--
        })
      children.push(child)
    }
  } catch (err) {
    if (!isCancellation(err)) throw err
  }
  await CancellationScope.nonCancellable(() => Promise.all(children))
}
