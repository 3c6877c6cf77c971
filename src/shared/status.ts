/**
 * The run and job lifecycle (docs/product.md, "Run lifecycle and outcome"). Pure: shared by the database
 * layer, the workflows, the activities and the API.
 */

export const RUN_STATUSES = ['queued', 'staging', 'running', 'collecting', 'completed', 'cancelled'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

export const JOB_STATUSES = ['queued', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

export const RUN_OUTCOMES = ['passed', 'failed', 'error'] as const
export type RunOutcome = (typeof RUN_OUTCOMES)[number]

/** Why a run ended in `error`. Which are retried, and what each means: src/outcomes/retry.ts. */
export const ERROR_CLASSES = ['infra', 'harness', 'provider', 'verifier', 'agent'] as const
export type ErrorClass = (typeof ERROR_CLASSES)[number]

export function isTerminalRunStatus(status: RunStatus): boolean {
  return status === 'completed' || status === 'cancelled'
}

export function isTerminalJobStatus(status: JobStatus): boolean {
  return status === 'completed' || status === 'cancelled' || status === 'failed'
}
