/** A job's workflow input, from its row: what starting its workflow (or starting it again) takes. */
import type { JobRow } from '../../db/schema.js'
import type { JobWorkflowInput } from '../../workflows/job-workflow.js'

export function jobWorkflowInput(job: JobRow, maxAttempts: number): JobWorkflowInput {
  return {
    jobId: job.id,
    nRuns: job.n_runs,
    maxParallel: job.max_parallel,
    maxAttempts,
    label: { taskName: job.task_name, harness: job.harness, agent: job.agent, model: job.model },
  }
}
