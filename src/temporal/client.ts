import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client'
import type { Config } from '../config.js'
import { jobWorkflowId } from '../shared/ids.js'
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
  const { label } = input
  try {
    await client.workflow.start('jobWorkflow', {
      taskQueue,
      workflowId: jobWorkflowId(input.jobId),
      args: [input],
      memo: {
        jobId: input.jobId,
        task: label.taskName,
        harness: label.harness,
        agent: label.agent,
        model: label.model,
      },
      staticSummary: `${label.taskName} × ${input.nRuns} · ${label.harness} · ${label.agent} · ${label.model}`,
    })
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err
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
