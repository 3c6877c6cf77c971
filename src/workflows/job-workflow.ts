/**
 * JobWorkflow: one evaluation job. Starts a RunWorkflow child per run, at most `maxParallel` at
 * once, with deterministic ids; one run's failure never fails the job. When every run has ended it
 * records the job's metrics and final status through an activity (which also purges the key).
 *
 * Cancelled (POST /api/jobs/{id}/cancel), it starts no more runs, waits for the running ones to
 * cancel (each stops its harness and cleans its host), cancels those that never started, and ends
 * `cancelled` with the metrics of what did run.
 */
import {
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow'
import type { JobActivities, JobSummary } from '../activities/job-activities.js'
import { runWorkflowId } from '../shared/ids.js'
import { runWorkflow, type RunWorkflowInput } from './run-workflow.js'

export interface JobWorkflowInput {
  jobId: string
  nRuns: number
  maxParallel: number
  maxAttempts: number
  /** Shown in the Temporal Web UI; not used for anything else. */
  label: { taskName: string; harness: string; agent: string; model: string }
}

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
})

export async function jobWorkflow(input: JobWorkflowInput): Promise<JobSummary> {
  const { jobId, nRuns, maxParallel, label } = input
  let running = 0
  let finished = 0
  const children: Promise<void>[] = []
  try {
    await db.markJobRunning(jobId)
    await startRuns()
  } catch (err) {
    if (!isCancellation(err)) throw err
  }
  // Cancelled, the children were asked to cancel with us: they end once their harnesses stopped.
  await CancellationScope.nonCancellable(() => Promise.all(children))
  const cancelled = CancellationScope.current().consideredCancelled
  const summary = await CancellationScope.nonCancellable(() => db.finalizeJob({ jobId, cancelled }))
  if (cancelled) throw new CancelledFailure('job cancelled')
  return summary

  /** Starts a child per run, waiting for a free place among `maxParallel` before each. */
  async function startRuns() {
    for (let runNumber = 1; runNumber <= nRuns; runNumber++) {
      await condition(() => running < maxParallel)
      running++
      const args: RunWorkflowInput = { jobId, runNumber, maxAttempts: input.maxAttempts }
      const child = executeChild(runWorkflow, {
        workflowId: runWorkflowId(jobId, runNumber),
        args: [args],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        memo: { jobId, runNumber, model: label.model, agent: label.agent, task: label.taskName },
        staticSummary: `run ${runNumber}/${nRuns} of ${label.taskName} · ${label.agent} · ${label.model}`,
      })
        // A run records its own outcome; whatever became of its workflow, the job carries on.
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          running--
          finished++
          setCurrentDetails(`${finished}/${nRuns} runs finished`)
        })
      children.push(child)
    }
  }
}
