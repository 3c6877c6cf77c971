/** The least a run could cost Temporal: a workflow with one activity that does nothing (see ../bench-temporal-floor.ts). */
import { executeChild, proxyActivities, uuid4 } from '@temporalio/workflow'

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' })

export async function floorRun(): Promise<void> {
  await noop()
}

/** `n` floorRun children, `parallel` at a time, as a job's workflow starts its runs. */
export async function floorJob(n: number, parallel: number): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < n) {
      const i = next++
      await executeChild(floorRun, { workflowId: `${uuid4()}-${i}` })
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, lane))
}
