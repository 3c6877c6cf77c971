/**
 * Business ids and the names derived from them. Pure and deterministic: a retried step derives the
 * same workflow id, harness job name and host directory, which is what makes retries idempotent.
 */

export function jobWorkflowId(jobId: string): string {
  return `job-${jobId}`
}

export function runWorkflowId(jobId: string, runNumber: number): string {
  return `job-${jobId}-run-${runNumber}`
}

/** A group of a large job's runs (see `runGroupWorkflow`); `group` counts from 1. */
export function runGroupWorkflowId(jobId: string, group: number): string {
  return `job-${jobId}-group-${group}`
}

/** The `--job-name` given to Harbor for one attempt of one run. */
export function harnessJobName(jobId: string, runNumber: number, attempt: number): string {
  return `${jobId}-run-${runNumber}-attempt-${attempt}`
}

/** The run's directory on its execution host, relative to the host's work dir. */
export function hostRunDir(jobId: string, runNumber: number): string {
  return `runs/${jobId}/run-${runNumber}`
}

/** One attempt's directory on the host, relative to the host's work dir. */
export function hostAttemptDir(jobId: string, runNumber: number, attempt: number): string {
  return `${hostRunDir(jobId, runNumber)}/attempt-${attempt}`
}

/**
 * Where an attempt's collected output is kept, relative to the data dir's `artifacts/` (the run's
 * artifacts are the directory above it).
 */
export function artifactAttemptDir(jobId: string, runNumber: number, attempt: number): string {
  return `${jobId}/run-${runNumber}/attempt-${attempt}`
}

/** Where a host's warm trial runners keep their directories, relative to the host's work dir. */
export const HOST_RUNNERS_DIR = '.runners'

/** The Temporal task queue whose workers act on one execution host. */
export function hostTaskQueue(baseQueue: string, hostId: string): string {
  return `${baseQueue}.host.${hostId}`
}

/**
 * The model string handed to the harness: OpenRouter models are addressed as
 * `openrouter/<vendor>/<model>`; an explicit `openrouter/...` is kept as is.
 */
export function harnessModel(model: string): string {
  return model.startsWith('openrouter/') ? model : `openrouter/${model}`
}

/** The `retry`-th retry of a run (counting from 1): a workflow of its own beside the run's first. */
export function runRetryWorkflowId(jobId: string, runNumber: number, retry: number): string {
  return `${runWorkflowId(jobId, runNumber)}-retry-${retry}`
}
