/**
 * A job's control as its workflow holds it: pause, resume and retries, received as updates (durable,
 * in the workflow's history, answered once acted on) and refused, by their validators, when they make
 * no sense (each refusal's type is its API code). Pausing stops new runs from starting (the job's own
 * and its run groups'); running runs go on. A retry reopens the ended runs it names (an activity) and
 * queues them to start again as new attempts.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  currentUpdateInfo,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  uuid4,
} from '@temporalio/workflow'
import type { JobActivities } from '../activities/job-activities.js'
import { JOB_ACTIVITY_NON_RETRYABLE } from '../outcomes/activity-failures.js'
import {
  isJobControlRefusal,
  JOB_UPDATES,
  RUN_GROUP_PAUSED_SIGNAL,
  type JobControlRefusal,
  type RetriedRun,
  type RetryRunsInput,
} from '../shared/job-control.js'

export const pauseUpdate = defineUpdate<void>(JOB_UPDATES.pause)
export const resumeUpdate = defineUpdate<void>(JOB_UPDATES.resume)
export const retryRunsUpdate = defineUpdate<RetriedRun[], [RetryRunsInput]>(JOB_UPDATES.retryRuns)
export const runGroupPausedSignal = defineSignal<[boolean]>(RUN_GROUP_PAUSED_SIGNAL)

const db = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: JOB_ACTIVITY_NON_RETRYABLE,
  },
})

export interface JobControl {
  paused(): boolean
  /** The job has ended: it is paused no more (a retry that reopens it starts its runs). */
  endPause(): void
  /** A run group has started: it hears of the pause as it is now, if it started with another. */
  groupStarted(workflowId: string, startedPaused: boolean): Promise<void>
  /** Retried runs waiting to start, first asked first. */
  readonly retries: RetriedRun[]
  /** Ids of the run group workflows started so far (they hear of pauses). */
  readonly groups: string[]
  /**
   * Set while the job is being recorded as ended: a retry waits until it has been, so that it
   * reopens an ended job (which then needs its key again) rather than runs the record is counting.
   */
  finalizing: boolean
}

function refuse(type: JobControlRefusal, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true })
}

/** Sets the job workflow's control handlers; the answer is the state they act on. */
export function controlJob(jobId: string): JobControl {
  let paused = false
  // One writer of the pause at a time, each writing the pause as it is then: however a pause and
  // a resume interleave, the database and the groups end with the last one asked.
  let writing = false
  const control: JobControl = {
    paused: () => paused,
    endPause: () => void (paused = false),
    groupStarted: async (workflowId, startedPaused) => {
      control.groups.push(workflowId)
      if (startedPaused !== paused) await signalGroup(workflowId)
    },
    retries: [],
    groups: [],
    finalizing: false,
  }
  const notCancelling = () => {
    if (CancellationScope.current().consideredCancelled) refuse('job_cancelling', `job ${jobId} is being cancelled`)
  }

  async function signalGroup(workflowId: string): Promise<void> {
    await getExternalWorkflowHandle(workflowId)
      .signal(runGroupPausedSignal, paused)
      .catch(() => undefined) // a group that has ended has nothing left to start
  }

  async function setPaused(value: boolean): Promise<void> {
    paused = value
    await condition(() => !writing)
    writing = true
    try {
      await db.setJobPaused({ jobId, paused })
      for (const id of control.groups) await signalGroup(id)
    } finally {
      writing = false
    }
  }

  setHandler(pauseUpdate, () => setPaused(true), {
    validator: () => {
      notCancelling()
      if (paused) refuse('job_already_paused', `job ${jobId} is already paused`)
    },
  })
  setHandler(resumeUpdate, () => setPaused(false), {
    validator: () => {
      notCancelling()
      if (!paused) refuse('job_not_paused', `job ${jobId} is not paused`)
    },
  })
  setHandler(
    retryRunsUpdate,
    async ({ runNumbers }) => {
      // The update's id (the request's Idempotency-Key, if it sent one) marks the runs it reopens.
      const requestId = currentUpdateInfo()?.id ?? uuid4()
      await condition(() => !control.finalizing)
      // Once begun, it commits before the job may be recorded as cancelled (which waits for it).
      const retried = await CancellationScope.nonCancellable(() =>
        db.reopenRuns({ jobId, runNumbers, requestId }).catch((err: unknown) => {
          const cause = err instanceof ActivityFailure ? err.cause : null
          if (cause instanceof ApplicationFailure && isJobControlRefusal(cause.type)) refuse(cause.type, cause.message)
          throw err
        }),
      )
      const queued = new Set(control.retries.map((r) => r.runNumber))
      control.retries.push(...retried.filter((r) => !queued.has(r.runNumber)))
      return retried
    },
    {
      validator: ({ runNumbers }) => {
        notCancelling()
        if (runNumbers.length === 0) refuse('no_runs_to_retry', 'no run was named to retry')
      },
    },
  )
  return control
}
