/**
 * Job control through the real workflows on a real Temporal server, with stub activities
 * (test/helpers/workflow-env.ts), driven by the service's own client functions (src/temporal/client.ts):
 * pause stops new runs (the job's own and its run groups') while running ones finish, resume starts
 * the rest; refusals that make no sense; a retry of ended runs as new workflows whose attempts carry
 * on the numbering, while the job runs and after it has ended (update-with-start); a repeated
 * request is the same update.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobWorkflowId, runRetryWorkflowId } from '../../src/shared/ids.js'
import { JobControlRefused } from '../../src/shared/job-control.js'
import { retryJobRuns, setJobWorkflowPaused, startJobWorkflow } from '../../src/temporal/client.js'
import type { JobWorkflowInput } from '../../src/workflows/job-workflow.js'
import { RUNS_PER_GROUP } from '../../src/workflows/run-group.js'
import { eventually } from '../helpers/eventually.js'
import { FakeActivities, failedWith, passed, until } from '../helpers/fake-activities.js'
import { createWorkflowTestEnv, expectCancelled, type WorkflowTestEnv } from '../helpers/workflow-env.js'

let env: WorkflowTestEnv
beforeAll(async () => {
  env = await createWorkflowTestEnv()
})
afterAll(() => env?.close())

function jobInput(input: Pick<JobWorkflowInput, 'nRuns' | 'maxParallel'>): JobWorkflowInput {
  return {
    jobId: randomUUID(),
    maxAttempts: 2,
    label: { taskName: 'hello', harness: 'harbor', agent: 'oracle', model: 'openai/gpt-4o' },
    ...input,
  }
}

async function startJob(fakes: FakeActivities, input: JobWorkflowInput) {
  await startJobWorkflow(env.client, fakes.taskQueue, input)
  return env.client.workflow.getHandle(jobWorkflowId(input.jobId))
}

/** Attempts hold until released; `release()` lets every held and later attempt pass. */
function holdAttempts(fakes: FakeActivities) {
  let released = false
  fakes.attempt = () => until(() => released).then(passed)
  return { release: () => (released = true) }
}

/**
 * Run 1's first attempt ends in an error of a class that is not retried by itself; every other
 * attempt holds until `release()`, keeping the job open.
 */
function failRunOneThenHold(fakes: FakeActivities) {
  let released = false
  fakes.attempt = async (_host, ref) => {
    if (ref.runNumber === 1 && ref.attempt === 1) return failedWith('agent')
    await until(() => released)
    return passed()
  }
  return { release: () => (released = true) }
}

const started = (fakes: FakeActivities) => fakes.inputsOf('runAttempt').length
const inFlight = (fakes: FakeActivities, n: number) =>
  eventually(
    () => fakes.inFlight.size,
    (size) => size === n,
    { timeoutMs: 30_000 },
  )

async function refusal(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(JobControlRefused)
  return (err as JobControlRefused).code
}

describe('pause and resume', () => {
  it('paused, starts no run while the running ones finish; resumed, runs the rest', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 5, maxParallel: 2 })
    const handle = await startJob(fakes, input)
    await inFlight(fakes, 2)

    await setJobWorkflowPaused(env.client, input.jobId, true)
    expect(fakes.inputsOf('setJobPaused')).toEqual([{ jobId: input.jobId, paused: true }])
    gate.release()
    await inFlight(fakes, 0)
    await sleep(1_500)
    expect(started(fakes)).toBe(2)
    expect((await handle.describe()).status.name).toBe('RUNNING')

    await setJobWorkflowPaused(env.client, input.jobId, false)
    expect(await handle.result()).toMatchObject({ status: 'completed' })
    expect(started(fakes)).toBe(5)
    expect(fakes.inputsOf('setJobPaused').at(-1)).toEqual({ jobId: input.jobId, paused: false })
  })

  it('refuses to pause a paused job, to resume one that is not paused, and to control an ended one', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 1, maxParallel: 1 })
    const handle = await startJob(fakes, input)

    expect(await refusal(setJobWorkflowPaused(env.client, input.jobId, false))).toBe('job_not_paused')
    await setJobWorkflowPaused(env.client, input.jobId, true)
    expect(await refusal(setJobWorkflowPaused(env.client, input.jobId, true))).toBe('job_already_paused')
    await setJobWorkflowPaused(env.client, input.jobId, false)
    gate.release()
    await handle.result()
    expect(await refusal(setJobWorkflowPaused(env.client, input.jobId, true))).toBe('job_finished')
    // Refused updates ran no handler.
    expect(fakes.inputsOf('setJobPaused').map((i) => i.paused)).toEqual([true, false])
  })

  it('a pause and a resume close together leave the job as the last one asked', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    let slowPause = true
    // The pause's write is slow: the resume comes while it is under way.
    fakes.pausing = (paused) => (paused && slowPause ? sleep(1_500) : Promise.resolve())
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 3, maxParallel: 1 })
    const handle = await startJob(fakes, input)
    await inFlight(fakes, 1)
    const pause = setJobWorkflowPaused(env.client, input.jobId, true)
    await eventually(
      () => fakes.inputsOf('setJobPaused').length,
      (n) => n === 1,
      { timeoutMs: 10_000 },
    )
    await setJobWorkflowPaused(env.client, input.jobId, false)
    await pause
    slowPause = false
    // Written one after the other, the last written is the last asked.
    expect(fakes.inputsOf('setJobPausedDone').map((i) => i.paused)).toEqual([true, false])
    gate.release()
    expect(await handle.result()).toMatchObject({ status: 'completed' })
    expect(started(fakes)).toBe(3)
  })

  it('a repeated request (same request id) is one update', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 1, maxParallel: 1 })
    const handle = await startJob(fakes, input)
    const requestId = randomUUID()
    await setJobWorkflowPaused(env.client, input.jobId, true, requestId)
    await setJobWorkflowPaused(env.client, input.jobId, true, requestId)
    expect(fakes.inputsOf('setJobPaused')).toHaveLength(1)
    await setJobWorkflowPaused(env.client, input.jobId, false)
    gate.release()
    await handle.result()
  })

  it(`reaches the runs of a job of more than ${RUNS_PER_GROUP} runs through its groups`, async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: RUNS_PER_GROUP * 2, maxParallel: 4 })
    const handle = await startJob(fakes, input)
    await inFlight(fakes, 4)

    await setJobWorkflowPaused(env.client, input.jobId, true)
    gate.release()
    await inFlight(fakes, 0)
    await sleep(1_500)
    expect(started(fakes)).toBe(4)

    await setJobWorkflowPaused(env.client, input.jobId, false)
    expect(await handle.result()).toMatchObject({ status: 'completed' })
    expect(started(fakes)).toBe(RUNS_PER_GROUP * 2)
  })
})

describe('retry', () => {
  it('retries an ended run while the job runs: a workflow of its own, its attempts numbered on', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = failRunOneThenHold(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 2, maxParallel: 2 })
    const handle = await startJob(fakes, input)
    await eventually(
      () => fakes.ended.has(1),
      (ended) => ended,
      { timeoutMs: 30_000 },
    )

    const retried = await retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [1, 2] })
    // Run 2 had not ended: it is not retried.
    expect(retried).toEqual([{ runNumber: 1, retry: 1, firstAttempt: 2 }])
    gate.release()
    expect(await handle.result()).toMatchObject({ status: 'completed' })
    const attemptsOf1 = fakes.inputsOf('runAttempt').filter((r) => r.runNumber === 1)
    expect(attemptsOf1.map((r) => r.attempt)).toEqual([1, 2])
    const retryRun = await env.client.workflow.getHandle(runRetryWorkflowId(input.jobId, 1, 1)).describe()
    expect(retryRun.parentExecution?.workflowId).toBe(jobWorkflowId(input.jobId))
    expect(fakes.inputsOf('finalizeJob')).toHaveLength(1)
  })

  it("runs a retried run within the job's max_parallel, beside its own runs", async () => {
    const fakes = new FakeActivities(['a'])
    const gate = failRunOneThenHold(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 3, maxParallel: 1 })
    const handle = await startJob(fakes, input)
    await eventually(
      () => fakes.ended.has(1) && fakes.inFlight.has(2),
      (ready) => ready,
      { timeoutMs: 30_000 },
    )
    expect(await retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [1] })).toHaveLength(1)
    await sleep(1_500)
    gate.release()
    expect(await handle.result()).toMatchObject({ status: 'completed' })
    expect(fakes.mostAtOnce()).toBe(1)
    expect(started(fakes)).toBe(4)
  })

  it('retries runs of a job that has ended: its workflow starts again for them only', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.attempt = async (_host, ref) => (ref.attempt === 1 && ref.runNumber === 2 ? failedWith('agent') : passed())
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 3, maxParallel: 3 })
    const first = await startJob(fakes, input)
    await first.result()
    expect(fakes.inputsOf('runAttempt')).toHaveLength(3)

    const requestId = randomUUID()
    const retried = await retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [2] }, requestId)
    expect(retried).toEqual([{ runNumber: 2, retry: 1, firstAttempt: 2 }])
    const again = env.client.workflow.getHandle(jobWorkflowId(input.jobId))
    expect(await again.result()).toMatchObject({ status: 'completed' })
    expect(fakes.inputsOf('runAttempt').slice(3)).toEqual([expect.objectContaining({ runNumber: 2, attempt: 2 })])
    // The reopened job never marked itself running from queued again; it was recorded ended twice.
    expect(fakes.inputsOf('markJobRunning')).toHaveLength(1)
    expect(fakes.inputsOf('finalizeJob')).toHaveLength(2)
  })

  it('a retry that comes while the job is being recorded as ended waits for the record, then reopens the job', async () => {
    const fakes = new FakeActivities(['a'])
    let recording = true
    fakes.finalizing = () => (fakes.inputsOf('finalizeJob').length === 1 ? until(() => !recording) : Promise.resolve())
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 1, maxParallel: 1 })
    const handle = await startJob(fakes, input)
    await eventually(
      () => fakes.inputsOf('finalizeJob').length,
      (n) => n === 1,
      { timeoutMs: 30_000 },
    )
    const retry = retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [1] })
    await sleep(1_000)
    expect(fakes.inputsOf('reopenRuns')).toHaveLength(0)
    recording = false
    expect(await retry).toEqual([{ runNumber: 1, retry: 1, firstAttempt: 2 }])
    expect(await handle.result()).toMatchObject({ status: 'completed' })
    const story = fakes.story().filter((s) => /finalize|reopen/.test(s))
    expect(story).toEqual([
      'finalizeJob@main',
      'finalizedJob@main',
      'reopenRuns@main',
      'reopenJob@main',
      'finalizeJob@main',
      'finalizedJob@main',
    ])
  })

  it('a retry of an ended job that reopens nothing, or is refused, leaves the job as it was recorded', async () => {
    const fakes = new FakeActivities(['a'])
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 1, maxParallel: 1 })
    await (await startJob(fakes, input)).result()
    // A run that never ended (the job has no run 7): the retry reopens nothing.
    expect(await retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [7] })).toEqual([])
    expect(await refusal(retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [] }))).toBe('no_runs_to_retry')
    const again = env.client.workflow.getHandle(jobWorkflowId(input.jobId))
    expect(await again.result()).toBeNull()
    expect(fakes.inputsOf('finalizeJob')).toHaveLength(1)
    expect(fakes.inputsOf('reopenJob')).toHaveLength(0)
  })

  it('refuses a retry of no run', async () => {
    const fakes = new FakeActivities(['a'])
    const gate = holdAttempts(fakes)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 1, maxParallel: 1 })
    const handle = await startJob(fakes, input)
    await inFlight(fakes, 1)
    expect(await refusal(retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [] }))).toBe('no_runs_to_retry')
    gate.release()
    await handle.result()
  })

  it('refuses a retry and a pause of a job being cancelled', async () => {
    const fakes = new FakeActivities(['a'])
    // An attempt that does not heartbeat hears of no cancel: the job stays cancelling until it ends.
    let end = () => {}
    const ended = new Promise<void>((resolve) => (end = resolve))
    fakes.attempt = () => ended.then(passed)
    await env.startWorkers(fakes, ['a'])
    const input = jobInput({ nRuns: 1, maxParallel: 1 })
    const handle = await startJob(fakes, input)
    await inFlight(fakes, 1)
    await handle.cancel()
    // Once the workflow has taken in the cancel (it passes it on to its run), updates meet it.
    await eventually(
      async () => (await handle.fetchHistory()).events ?? [],
      (events) => events.some((e) => e.requestCancelExternalWorkflowExecutionInitiatedEventAttributes),
      { timeoutMs: 30_000 },
    )
    try {
      expect(await refusal(retryJobRuns(env.client, fakes.taskQueue, input, { runNumbers: [1] }))).toBe(
        'job_cancelling',
      )
      expect(await refusal(setJobWorkflowPaused(env.client, input.jobId, true))).toBe('job_cancelling')
    } finally {
      end()
    }
    await expectCancelled(handle)
  })
})
