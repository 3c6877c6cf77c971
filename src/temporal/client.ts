import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client'
import { ApplicationFailure, type Workflow } from '@temporalio/common'
import type { Config } from '../config.js'
import { jobWorkflowId } from '../shared/ids.js'
import {
  isJobControlRefusal,
  JOB_UPDATES,
  JobControlRefused,
  type RetriedRun,
  type RetryRunsInput,
} from '../shared/job-control.js'
import type { JobWorkflowInput } from '../workflows/job-workflow.js'

export interface TemporalClientHandle {
  client: Client
  close(): Promise<void>
}

export async function connectTemporalClient(config: Config, address: string): Promise<TemporalClientHandle> {
  const connection = await Connection.connect({ address })
  const client = new Client({ connection, namespace: config.temporal.namespace })
  return { client, close: () => connection.close() }
}

/** Starts the job's workflow; starting it again (a retried request) is a no-op. */
export async function startJobWorkflow(client: Client, taskQueue: string, input: JobWorkflowInput): Promise<void> {
  try {
    await client.workflow.start('jobWorkflow', jobWorkflowOptions(taskQueue, input))
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err
  }
}

function jobWorkflowOptions(taskQueue: string, input: JobWorkflowInput) {
  const { label } = input
  return {
    taskQueue,
    workflowId: jobWorkflowId(input.jobId),
    args: [input] as [JobWorkflowInput],
    memo: { jobId: input.jobId, task: label.taskName, harness: label.harness, agent: label.agent, model: label.model },
    staticSummary: `${label.taskName} × ${input.nRuns} · ${label.harness} · ${label.agent} · ${label.model}`,
  }
}

/**
 * Pauses or resumes the job's running workflow; `requestId` (an Idempotency-Key) makes a repeated
 * request the same update. A refusal is a JobControlRefused.
 */
export async function setJobWorkflowPaused(
  client: Client,
  jobId: string,
  paused: boolean,
  requestId?: string,
): Promise<void> {
  const update = paused ? JOB_UPDATES.pause : JOB_UPDATES.resume
  await refusalsOf(() => client.workflow.getHandle(jobWorkflowId(jobId)).executeUpdate(update, { updateId: requestId }))
}

/**
 * Retries ended runs of the job: an update of its workflow while it runs; once it has ended, the
 * workflow started anew for the retried runs only (update-with-start). Answers with the runs it
 * retried (those of `runNumbers` that had ended).
 */
export async function retryJobRuns(
  client: Client,
  taskQueue: string,
  input: JobWorkflowInput,
  retry: RetryRunsInput,
  requestId?: string,
): Promise<RetriedRun[]> {
  const start = new WithStartWorkflowOperation('jobWorkflow', {
    ...jobWorkflowOptions(taskQueue, { ...input, reopen: true }),
    workflowIdConflictPolicy: 'USE_EXISTING',
  })
  return refusalsOf(() =>
    client.workflow.executeUpdateWithStart<Workflow, RetriedRun[], [RetryRunsInput]>(JOB_UPDATES.retryRuns, {
      args: [retry],
      updateId: requestId,
      startWorkflowOperation: start,
    }),
  )
}

/** The workflow's refusals (its update validators') as JobControlRefused; a closed workflow as `job_finished`. */
async function refusalsOf<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const { type, message } = err.cause
      if (isJobControlRefusal(type)) throw new JobControlRefused(type, message)
    }
    if (err instanceof WorkflowNotFoundError) throw new JobControlRefused('job_finished', 'the job has ended')
    throw err
  }
}

/** Requests cancellation of the job's workflow; one that has already closed is left alone. */
export async function cancelJobWorkflow(client: Client, jobId: string): Promise<void> {
  try {
    await client.workflow.getHandle(jobWorkflowId(jobId)).cancel()
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err
  }
}
