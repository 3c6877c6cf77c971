/**
 * JobWorkflow on a real Temporal server with stub activities (test/helpers/workflow-env.ts): at most
 * max_parallel runs at once, every run started once, one run's failure not the job's, a cancel that
 * reaches the running runs and starts no more; past RUNS_PER_GROUP runs, run groups with their share
 * of max_parallel (planGroups), and a cancel that reaches the runs through them.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { WorkflowNotFoundError } from '@temporalio/client'
import { ApplicationFailure } from '@temporalio/common'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobWorkflowId, runGroupWorkflowId, runWorkflowId } from '../../src/shared/ids.js'
import type { jobWorkflow, JobWorkflowInput } from '../../src/workflows/job-workflow.js'
import { planGroups, RUNS_PER_GROUP } from '../../src/workflows/run-group.js'
import { eventually } from '../helpers/eventually.js'
import { FakeActivities, passed, until, untilCancelled } from '../helpers/fake-activities.js'
import { createWorkflowTestEnv, type WorkflowTestEnv, expectCancelled } from '../helpers/workflow-env.js'

let env: WorkflowTestEnv
beforeAll(async () => {
  env = await createWorkflowTestEnv()
})
afterAll(() => env?.close())

async function startJob(fakes: FakeActivities, input: Pick<JobWorkflowInput, 'nRuns' | 'maxParallel'>) {
  const jobId = randomUUID()
  const handle = await env.client.workflow.start<typeof jobWorkflow>('jobWorkflow', {
    taskQueue: fakes.taskQueue,
    workflowId: jobWorkflowId(jobId),
    args: [
      {
        jobId,
        maxAttempts: 2,
        label: { taskName: 'hello', harness: 'harbor', agent: 'oracle', model: 'openai/gpt-4o' },
        ...input,
      },
    ],
  })
  return { jobId, handle }
}

/** Attempts hold until `release()`, so that what is in flight at once can be counted. */
function holdAttempts(fakes: FakeActivities): { release(): void } {
  let released = false
  fakes.attempt = () => until(() => released).then(passed)
  return { release: () => (released = true) }
}

/** Waits until `n` attempts are in flight, then a little longer: no more may come. */
async function expectInFlight(fakes: FakeActivities, n: number): Promise<void> {
  await eventually(
    () => fakes.inFlight.size,
    (size) => size >= n,
    { timeoutMs: 30_000 },
  )
  await sleep(1_000)
  expect(fakes.inFlight.size).toBe(n)
}

const parentOf = async (workflowId: string) =>
  (await env.client.workflow.getHandle(workflowId).describe()).parentExecution?.workflowId
const statusOf = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).describe()).status.name
const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y)

describe('a job of a few runs', () => {
  it('runs at most max_parallel at once, every run once as its child, and then records the job', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const { jobId, handle } = await startJob(fakes, { nRuns: 5, maxParallel: 2 })

    await expectInFlight(fakes, 2)
    gate.release()
    expect(await handle.result()).toEqual({ status: 'completed', metrics: {} })
    expect(sorted(fakes.inputsOf('runAttempt').map((r) => r.runNumber))).toEqual(numbers(1, 5))
    expect(fakes.mostAtOnce()).toBe(2)
    expect(fakes.story()[0]).toBe('markJobRunning@main')
    expect(fakes.story().at(-1)).toBe('finalizedJob@main')
    expect(fakes.inputsOf('finalizeJob')).toEqual([{ jobId, cancelled: false }])
    for (const n of [1, 5]) expect(await parentOf(runWorkflowId(jobId, n))).toBe(jobWorkflowId(jobId))
  })

  it('completes when one of its runs fails', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.place = (input) => {
      if (input.runNumber === 2) throw ApplicationFailure.nonRetryable('run 2 is gone', 'RunNotFound')
      return 'a'
    }
    await env.startWorkers(fakes, ['a'])
    const { jobId, handle } = await startJob(fakes, { nRuns: 3, maxParallel: 3 })

    expect(await handle.result()).toEqual({ status: 'completed', metrics: {} })
    expect(await statusOf(runWorkflowId(jobId, 2))).toBe('FAILED')
    expect(sorted(fakes.inputsOf('runAttempt').map((r) => r.runNumber))).toEqual([1, 3])
    expect(fakes.inputsOf('finalizeJob')).toEqual([{ jobId, cancelled: false }])
  })

  it('cancelled, cancels its running runs, starts no more, and records the job cancelled', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.attempt = untilCancelled
    await env.startWorkers(fakes, ['a'])
    const { jobId, handle } = await startJob(fakes, { nRuns: 4, maxParallel: 2 })
    await expectInFlight(fakes, 2)
    await handle.cancel()

    await expectCancelled(handle)
    expect(sorted(fakes.inputsOf('attemptCancelled').map((r) => r.runNumber))).toEqual([1, 2])
    expect(sorted(fakes.inputsOf('cancelRun').map((r) => r.runNumber))).toEqual([1, 2])
    expect(sorted(fakes.inputsOf('tryPlaceAttempt').map((r) => r.runNumber))).toEqual([1, 2])
    // The runs that never started are left to finalizeJob, which records them cancelled.
    expect(fakes.story().at(-1)).toBe('finalizedJob@main')
    expect(fakes.inputsOf('finalizeJob')).toEqual([{ jobId, cancelled: true }])
    for (const n of [1, 2]) expect(await statusOf(runWorkflowId(jobId, n))).toBe('CANCELLED')
    for (const n of [3, 4])
      await expect(statusOf(runWorkflowId(jobId, n))).rejects.toBeInstanceOf(WorkflowNotFoundError)
  })
})

describe(`a job of more than ${RUNS_PER_GROUP} runs`, () => {
  it('starts its runs through groups, each with its share of max_parallel, every run once', async () => {
    const [nRuns, maxParallel] = [110, 11]
    const groups = planGroups(nRuns, maxParallel)
    expect(groups.map((g) => [g.first, g.last, g.maxParallel])).toEqual([
      [1, 50, 4],
      [51, 100, 4],
      [101, 110, 3],
    ])
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const { jobId, handle } = await startJob(fakes, { nRuns, maxParallel })

    // Held: each group runs its share at once, no more.
    await expectInFlight(fakes, maxParallel)
    const inGroup = (g: (typeof groups)[number]) => (n: number) => n >= g.first && n <= g.last
    expect(groups.map((g) => [...fakes.inFlight].filter(inGroup(g)).length)).toEqual([4, 4, 3])
    gate.release()

    expect(await handle.result()).toEqual({ status: 'completed', metrics: {} })
    expect(sorted(fakes.inputsOf('runAttempt').map((r) => r.runNumber))).toEqual(numbers(1, nRuns))
    expect(fakes.mostAtOnce()).toBe(maxParallel)
    expect(groups.map((g) => fakes.mostAtOnce(inGroup(g)))).toEqual([4, 4, 3])
    for (const [i, g] of groups.entries()) {
      const group = runGroupWorkflowId(jobId, i + 1)
      expect(await statusOf(group)).toBe('COMPLETED')
      expect(await parentOf(group)).toBe(jobWorkflowId(jobId))
      for (const n of [g.first, g.last]) expect(await parentOf(runWorkflowId(jobId, n))).toBe(group)
    }
    await expect(statusOf(runGroupWorkflowId(jobId, 4))).rejects.toBeInstanceOf(WorkflowNotFoundError)
    expect(fakes.inputsOf('finalizeJob')).toEqual([{ jobId, cancelled: false }])
  }, 120_000)

  it('cancelled, the cancel reaches every running run through its group, and no more start', async () => {
    const [nRuns, maxParallel] = [55, 4]
    const fakes = new FakeActivities(['a'])
    fakes.attempt = untilCancelled
    await env.startWorkers(fakes, ['a'])
    const { jobId, handle } = await startJob(fakes, { nRuns, maxParallel })
    await expectInFlight(fakes, maxParallel)
    const running = sorted([...fakes.inFlight])
    await handle.cancel()

    await expectCancelled(handle)
    expect(sorted(fakes.inputsOf('runAttempt').map((r) => r.runNumber))).toEqual(running)
    expect(sorted(fakes.inputsOf('attemptCancelled').map((r) => r.runNumber))).toEqual(running)
    expect(sorted(fakes.inputsOf('cancelRun').map((r) => r.runNumber))).toEqual(running)
    for (const group of [1, 2]) expect(await statusOf(runGroupWorkflowId(jobId, group))).toBe('CANCELLED')
    for (const n of running) expect(await statusOf(runWorkflowId(jobId, n))).toBe('CANCELLED')
    expect(fakes.story().at(-1)).toBe('finalizedJob@main')
    expect(fakes.inputsOf('finalizeJob')).toEqual([{ jobId, cancelled: true }])
  })
})
