/**
 * The failures a host activity ends an attempt with at once, never retried (thrown as non-retryable
 * `ApplicationFailure`s of these types, and listed as such in the workflows' retry policies).
 */
export const ACTIVITY_FAILURES = {
  /** The run's row is gone (its job was deleted). */
  runNotFound: 'RunNotFound',
  /** The job's stored task is missing from the data dir. */
  taskMissing: 'TaskMissing',
  /** The host placed on has no CLI of the job's harness. */
  harnessMissing: 'HarnessMissing',
  /** The job names an agent or environment by an import path this worker does not allow. */
  importPathNotAllowed: 'ImportPathNotAllowed',
  /** A retry of a job that has lost its key (src/db/run-retries.ts). */
  keyRequired: 'openrouter_key_required',
} as const

/** Not retried by a host activity's policy. */
export const HOST_ACTIVITY_NON_RETRYABLE = [
  ACTIVITY_FAILURES.runNotFound,
  ACTIVITY_FAILURES.taskMissing,
  ACTIVITY_FAILURES.harnessMissing,
]

/** Not retried by a job (bookkeeping) activity's policy. */
export const JOB_ACTIVITY_NON_RETRYABLE = [ACTIVITY_FAILURES.runNotFound, ACTIVITY_FAILURES.keyRequired]
