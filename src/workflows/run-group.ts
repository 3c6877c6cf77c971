/**
 * Runs of one job started as child workflows, at most `maxParallel` at once: done by the job
 * workflow itself for a small job, and by run group workflows for a large one.
 *
 * Why groups: every child a workflow starts, and every child that ends, is a write to that
 * workflow's own history, one after another: one workflow starts its children only so fast,
 * whatever the machine's size (docs/benchmarks/load.md, measurement 3). A large job therefore starts
 * its runs through groups of RUNS_PER_GROUP, which start theirs side by side.
 */
import {
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow'
import { runGroupWorkflowId, runWorkflowId } from '../shared/ids.js'
import { runWorkflow, type RunWorkflowInput } from './run-workflow.js'
import { runGroupPausedSignal } from './job-control.js'

/** Past this many runs a job starts them through groups. */
export const RUNS_PER_GROUP = 50

export interface RunsLabel {
  taskName: string
  harness: string
  agent: string
  model: string
}

export interface RunGroupWorkflowInput {
  jobId: string
  /** The job's number of runs (for the runs' descriptions). */
  nRuns: number
  /** This group's runs: `first` to `last`, both included. */
  first: number
  last: number
  /** This group's share of the job's `max_parallel`. */
  maxParallel: number
  maxAttempts: number
  label: RunsLabel
  /** The job was paused when the group started (later pauses come as signals). */
  paused?: boolean
}

/** The runs under way of those that share one `maxParallel` (a job's own runs and its retried ones). */
export interface RunSlots {
  running: number
}

/**
 * Starts runs `first`…`last` of a job as children, waiting for a free place among `maxParallel`
 * before each, and while `isPaused()` for the job to be resumed; resolves when all have ended (a
 * run's failure is its own: it records its outcome).
 * Cancelled, it starts no more and waits, uncancellable, for the started ones to cancel (each
 * stops its harness and cleans its host) before it passes the cancellation on.
 */
export async function runChildren(
  input: RunGroupWorkflowInput,
  isPaused: () => boolean,
  describe: (finished: number) => string,
  slots: RunSlots = { running: 0 },
): Promise<void> {
  const { jobId, nRuns, first, last, maxParallel, label } = input
  let finished = 0
  const children: Promise<void>[] = []
  try {
    for (let runNumber = first; runNumber <= last; runNumber++) {
      await condition(() => slots.running < maxParallel && !isPaused())
      slots.running++
      const args: RunWorkflowInput = { jobId, runNumber, maxAttempts: input.maxAttempts }
      const child = executeChild(runWorkflow, {
        workflowId: runWorkflowId(jobId, runNumber),
        args: [args],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        memo: { jobId, runNumber, model: label.model, agent: label.agent, task: label.taskName },
        staticSummary: `run ${runNumber}/${nRuns} of ${label.taskName} · ${label.agent} · ${label.model}`,
      })
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          slots.running--
          finished++
          setCurrentDetails(describe(finished))
        })
      children.push(child)
    }
  } catch (err) {
    if (!isCancellation(err)) throw err
  }
  await CancellationScope.nonCancellable(() => Promise.all(children))
}

/** One group of a large job's runs (see above). */
export async function runGroupWorkflow(input: RunGroupWorkflowInput): Promise<void> {
  const size = input.last - input.first + 1
  let paused = input.paused ?? false
  setHandler(runGroupPausedSignal, (value) => void (paused = value))
  await runChildren(
    input,
    () => paused,
    (finished) => `${finished}/${size} runs of this group finished`,
  )
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('job cancelled')
}

/**
 * A large job's runs cut into consecutive groups, each with its share of `maxParallel`: at most
 * `maxParallel` groups, so that every share is at least one. (A group that ends early leaves its
 * share unused: the job then runs fewer than `maxParallel` at once, never more.)
 */
export function planGroups(nRuns: number, maxParallel: number): { first: number; last: number; maxParallel: number }[] {
  const size = Math.max(RUNS_PER_GROUP, Math.ceil(nRuns / maxParallel))
  const count = Math.ceil(nRuns / size)
  return Array.from({ length: count }, (_, i) => ({
    first: i * size + 1,
    last: Math.min(nRuns, (i + 1) * size),
    maxParallel: Math.floor(maxParallel / count) + (i < maxParallel % count ? 1 : 0),
  }))
}

export function groupWorkflowOptions(jobId: string, group: number, input: RunGroupWorkflowInput) {
  return {
    workflowId: runGroupWorkflowId(jobId, group),
    args: [input] as [RunGroupWorkflowInput],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    memo: { jobId, group },
    staticSummary: `runs ${input.first}–${input.last} of ${input.nRuns} of ${input.label.taskName}`,
  }
}
