/**
 * Job control as the job workflow and its callers both know it: the names of the workflow's updates
 * and signal, their arguments and answers, and the codes of their refusals (each a 409 in the API).
 * Pure.
 */

/** Updates on a job's workflow: durable, in its history, answered once it has acted. */
export const JOB_UPDATES = {
  /** No run starts until it is resumed; running runs go on to their end. */
  pause: 'pause',
  resume: 'resume',
  /** Ended runs start again as new attempts of the same runs (their earlier attempts kept). */
  retryRuns: 'retryRuns',
} as const

/** The signal by which a job passes its pause on to its run groups. */
export const RUN_GROUP_PAUSED_SIGNAL = 'paused'

export interface RetryRunsInput {
  runNumbers: number[]
}

/** The runs a retry started again (those of the request that had ended), each with its first new attempt. */
export interface RetriedRun {
  runNumber: number
  /** How many times the run has been retried, this time included. */
  retry: number
  firstAttempt: number
}

export const JOB_CONTROL_REFUSALS = [
  'job_already_paused',
  'job_not_paused',
  'job_cancelling',
  'no_runs_to_retry',
  /** A job given a key has lost it (it ended): a retry must bring it again. */
  'openrouter_key_required',
] as const
export type JobControlRefusal = (typeof JOB_CONTROL_REFUSALS)[number]

export function isJobControlRefusal(type: string | undefined | null): type is JobControlRefusal {
  return (JOB_CONTROL_REFUSALS as readonly string[]).includes(type ?? '')
}

/** The job's workflow refused a control request: `code` says why. */
export class JobControlRefused extends Error {
  override name = 'JobControlRefused'
  constructor(
    readonly code: JobControlRefusal | 'job_finished',
    message: string,
  ) {
    super(message)
  }
}
