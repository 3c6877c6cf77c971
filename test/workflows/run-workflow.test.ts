/**
 * RunWorkflow on a real Temporal server with stub activities (test/helpers/workflow-env.ts):
 * retries and their backoff, placement (waiting for a slot, passing over a host whose workers do not
 * take the attempt, waiting for those of a host where it had begun), and cancellation. Backoffs run
 * 100 times faster and the minute a host gets to take up an attempt 30 times (fast-time.ts): the
 * tests read the durations the workflow asked for from its history.
 */
import { randomUUID } from 'node:crypto'
import type { WorkflowHandle } from '@temporalio/client'
import { ApplicationFailure, decodeTimeoutType } from '@temporalio/common'
import { tsToMs } from '@temporalio/common/lib/time.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RETRYABLE_ERROR_CLASSES } from '../../src/outcomes/retry.js'
import { ERROR_CLASSES } from '../../src/shared/status.js'
import { hostTaskQueue } from '../../src/shared/ids.js'
import type { runWorkflow, RunWorkflowInput } from '../../src/workflows/run-workflow.js'
import { eventually } from '../helpers/eventually.js'
import { FakeActivities, failedWith, passed, runIdOf, untilCancelled } from '../helpers/fake-activities.js'
import { SCHEDULE_TO_START_SCALE, TIMER_SCALE } from '../helpers/fast-time.js'
import { createWorkflowTestEnv, type WorkflowTestEnv, expectCancelled } from '../helpers/workflow-env.js'

const JOB = 'job-1'

let env: WorkflowTestEnv
beforeAll(async () => {
  env = await createWorkflowTestEnv()
})
afterAll(() => env?.close())

function startRun(fakes: FakeActivities, input: Partial<RunWorkflowInput> = {}) {
  return env.client.workflow.start<typeof runWorkflow>('runWorkflow', {
    taskQueue: fakes.taskQueue,
    workflowId: `run-workflow-test-${randomUUID()}`,
    args: [{ jobId: JOB, runNumber: 1, maxAttempts: 3, ...input }],
  })
}

/** The backoffs the workflow asked for, in ms (its timers, scaled back). */
async function backoffsOf(handle: WorkflowHandle): Promise<number[]> {
  const { events } = await handle.fetchHistory()
  return events!.flatMap((e) =>
    e.timerStartedEventAttributes ? [tsToMs(e.timerStartedEventAttributes.startToFireTimeout) * TIMER_SCALE] : [],
  )
}

/** Each activity the workflow scheduled on a task queue (not local ones): its queue and how it ended. */
async function scheduledOf(handle: WorkflowHandle): Promise<{ queue: string; activity: string; end: string }[]> {
  const { events } = await handle.fetchHistory()
  const scheduled = new Map<string, { queue: string; activity: string; end: string }>()
  for (const e of events!) {
    const s = e.activityTaskScheduledEventAttributes
    if (s) {
      // The timeout the workflow asked for, scaled back: always the minute.
      expect(tsToMs(s.scheduleToStartTimeout) * SCHEDULE_TO_START_SCALE).toBe(60_000)
      scheduled.set(String(e.eventId), { queue: s.taskQueue!.name!, activity: s.activityType!.name!, end: 'open' })
    }
    const timedOut = e.activityTaskTimedOutEventAttributes
    if (timedOut) {
      const type = decodeTimeoutType(timedOut.failure?.timeoutFailureInfo?.timeoutType)
      scheduled.get(String(timedOut.scheduledEventId))!.end = `${type} timeout`
    }
    const completed = e.activityTaskCompletedEventAttributes
    if (completed) scheduled.get(String(completed.scheduledEventId))!.end = 'completed'
  }
  return [...scheduled.values()]
}

describe('retries', () => {
  it('starts a new attempt after an infra or harness error, 5 s then 10 s later, until one passes', async () => {
    const fakes = new FakeActivities(['a'])
    const outcomes = [failedWith('harness'), failedWith('infra'), passed()]
    fakes.attempt = async () => outcomes.shift()!
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes, { maxAttempts: 4 })

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'passed', attempts: 3 })
    expect(fakes.story()).toEqual([
      ...['tryPlaceAttempt@main', 'runAttempt@a', 'recordAttempt@main', 'cleanupAttempt@a'],
      ...['tryPlaceAttempt@main', 'runAttempt@a', 'recordAttempt@main', 'cleanupAttempt@a'],
      ...['tryPlaceAttempt@main', 'runAttempt@a', 'recordAttempt@main', 'cleanupAttempt@a'],
    ])
    expect(fakes.inputsOf('tryPlaceAttempt')).toEqual(
      [1, 2, 3].map((attempt) => ({ jobId: JOB, runNumber: 1, attempt, avoid: [] })),
    )
    expect(fakes.inputsOf('runAttempt').map((r) => r.attempt)).toEqual([1, 2, 3])
    expect(
      fakes.inputsOf('recordAttempt').map((r) => [r.runId, r.attempt, r.outcome.error_class, r.completeRun]),
    ).toEqual([
      [runIdOf(1), 1, 'harness', false],
      [runIdOf(1), 2, 'infra', false],
      [runIdOf(1), 3, null, true],
    ])
    // The attempt's files go after each attempt; the run's with the last.
    expect(fakes.inputsOf('cleanupAttempt').map((c) => [c.attempt, c.runFinished])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ])
    expect(await backoffsOf(handle)).toEqual([5_000, 10_000])
  })

  it('gives up after maxAttempts with the last attempt as the outcome, the backoff doubling up to 60 s', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.attempt = async () => failedWith('infra')
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes, { maxAttempts: 7 })

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'error', attempts: 7 })
    expect(await backoffsOf(handle)).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000])
    const records = fakes.inputsOf('recordAttempt')
    expect(records.map((r) => [r.attempt, r.completeRun])).toEqual([1, 2, 3, 4, 5, 6, 7].map((a) => [a, a === 7]))
    expect(records.at(-1).outcome).toMatchObject({ outcome: 'error', error_class: 'infra' })
    expect(fakes.inputsOf('cleanupAttempt').map((c) => c.runFinished)).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((a) => a === 7),
    )
  })

  it('ends at once, after one attempt, on a failure or an error class that is not retried', async () => {
    const final = ERROR_CLASSES.filter((c) => !RETRYABLE_ERROR_CLASSES.includes(c))
    expect(final).toEqual(['provider', 'verifier', 'agent'])
    const results = [
      ...final.map(failedWith),
      { ...passed(), outcome: { ...passed().outcome, outcome: 'failed' as const, reward: 0 } },
    ]
    const fakes = new FakeActivities(['a'])
    fakes.attempt = async (_host, ref) => results[ref.runNumber - 1]!
    await env.startWorkers(fakes, ['a'])
    const handles = await Promise.all(results.map((_, i) => startRun(fakes, { runNumber: i + 1, maxAttempts: 5 })))

    const summaries = await Promise.all(handles.map((h) => h.result()))
    expect(summaries).toEqual([
      { runNumber: 1, outcome: 'error', attempts: 1 },
      { runNumber: 2, outcome: 'error', attempts: 1 },
      { runNumber: 3, outcome: 'error', attempts: 1 },
      { runNumber: 4, outcome: 'failed', attempts: 1 },
    ])
    const records = fakes.inputsOf('recordAttempt').sort((x, y) => x.runId.localeCompare(y.runId))
    expect(records.map((r) => [r.runId, r.attempt, r.outcome.error_class, r.completeRun])).toEqual([
      [runIdOf(1), 1, 'provider', true],
      [runIdOf(2), 1, 'verifier', true],
      [runIdOf(3), 1, 'agent', true],
      [runIdOf(4), 1, null, true],
    ])
    for (const h of handles) expect(await backoffsOf(h)).toEqual([])
  })

  it('records an attempt whose host activity failed as an infra error with its message, and retries it', async () => {
    const fakes = new FakeActivities(['a'])
    let calls = 0
    fakes.attempt = async () => {
      if (++calls === 1) throw ApplicationFailure.nonRetryable('the disk is full', 'SimulatedHostFailure')
      return passed()
    }
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes)

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'passed', attempts: 2 })
    const [first] = fakes.inputsOf('recordAttempt')
    expect(first).toMatchObject({ attempt: 1, completeRun: false, harness: null })
    expect(first.outcome).toMatchObject({ outcome: 'error', error_class: 'infra', error_message: 'the disk is full' })
  })
})

describe('placement', () => {
  it('waits in placeAttempt when no host has room at once', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.place = (_input, how) => (how === 'try' ? null : 'a')
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes)

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'passed', attempts: 1 })
    expect(fakes.story()).toEqual([
      'tryPlaceAttempt@main',
      'placeAttempt@main',
      'runAttempt@a',
      'recordAttempt@main',
      'cleanupAttempt@a',
    ])
    const ask = { jobId: JOB, runNumber: 1, attempt: 1, avoid: [] }
    expect(fakes.inputsOf('tryPlaceAttempt')).toEqual([ask])
    expect(fakes.inputsOf('placeAttempt')).toEqual([ask])
  })

  it('passes over a host whose workers do not take up the attempt, without counting it as an attempt', async () => {
    // Host "gone" has no worker: its attempt is never taken up.
    const fakes = new FakeActivities(['gone', 'b'])
    await env.startWorkers(fakes, ['b'])
    const handle = await startRun(fakes)

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'passed', attempts: 1 })
    expect(fakes.story()).toEqual([
      'tryPlaceAttempt@main',
      'attemptBegan@main',
      'tryPlaceAttempt@main',
      'runAttempt@b',
      'recordAttempt@main',
      'cleanupAttempt@b',
    ])
    expect(fakes.inputsOf('tryPlaceAttempt').map((p) => [p.attempt, p.avoid])).toEqual([
      [1, []],
      [1, ['gone']],
    ])
    expect(fakes.inputsOf('attemptBegan')).toEqual([{ runId: runIdOf(1) }])
    expect(fakes.inputsOf('recordAttempt').map((r) => [r.attempt, r.completeRun])).toEqual([[1, true]])
    expect(await scheduledOf(handle)).toEqual([
      { queue: hostTaskQueue(fakes.taskQueue, 'gone'), activity: 'runAttempt', end: 'SCHEDULE_TO_START timeout' },
      { queue: hostTaskQueue(fakes.taskQueue, 'b'), activity: 'runAttempt', end: 'completed' },
      { queue: hostTaskQueue(fakes.taskQueue, 'b'), activity: 'cleanupAttempt', end: 'completed' },
    ])
    expect(await backoffsOf(handle)).toEqual([])
  })

  it('keeps an attempt that had begun on its host, waiting for the host five times, then fails it as infra', async () => {
    const fakes = new FakeActivities(['gone', 'b'])
    fakes.began = () => true
    await env.startWorkers(fakes, ['b'])
    const handle = await startRun(fakes, { maxAttempts: 1 })

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'error', attempts: 1 })
    // Never moved to host b: its harness may still run on "gone".
    expect(fakes.story()).toEqual([
      'tryPlaceAttempt@main',
      ...Array.from({ length: 5 }, () => 'attemptBegan@main'),
      'recordAttempt@main',
    ])
    const [record] = fakes.inputsOf('recordAttempt')
    expect(record).toMatchObject({ attempt: 1, completeRun: true, harness: null })
    expect(record.outcome).toMatchObject({ outcome: 'error', error_class: 'infra' })
    const gone = hostTaskQueue(fakes.taskQueue, 'gone')
    expect(await scheduledOf(handle)).toEqual([
      ...Array.from({ length: 5 }, () => ({ queue: gone, activity: 'runAttempt', end: 'SCHEDULE_TO_START timeout' })),
      { queue: gone, activity: 'cleanupAttempt', end: 'SCHEDULE_TO_START timeout' },
    ])
  })

  it('re-attaches an attempt that had begun once a worker of its host comes back', async () => {
    const fakes = new FakeActivities(['a'])
    const workers = await env.startWorkers(fakes, [])
    fakes.began = () => {
      // The host's worker is back while the workflow waits for it.
      if (fakes.inputsOf('attemptBegan').length === 1) void workers.startHost('a')
      return true
    }
    const handle = await startRun(fakes)

    expect(await handle.result()).toEqual({ runNumber: 1, outcome: 'passed', attempts: 1 })
    expect(fakes.inputsOf('tryPlaceAttempt')).toHaveLength(1)
    expect(fakes.inputsOf('attemptBegan').length).toBeLessThan(5)
    expect(fakes.inputsOf('runAttempt')).toEqual([{ jobId: JOB, runId: runIdOf(1), runNumber: 1, attempt: 1 }])
    expect(fakes.inputsOf('recordAttempt').map((r) => [r.attempt, r.outcome.outcome, r.completeRun])).toEqual([
      [1, 'passed', true],
    ])
  })
})

describe('cancellation', () => {
  it('cancels the running attempt, records the run cancelled and removes its files from the host', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.attempt = untilCancelled
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes)
    await eventually(
      () => fakes.inFlight.size,
      (n) => n === 1,
      { timeoutMs: 30_000 },
    )
    await handle.cancel()

    await expectCancelled(handle)
    expect(fakes.story()).toEqual([
      'tryPlaceAttempt@main',
      'runAttempt@a',
      // The workflow waits for the attempt to stop before it records the run.
      'attemptCancelled@a',
      'cancelRun@main',
      'cleanupAttempt@a',
    ])
    expect(fakes.inputsOf('cancelRun')).toEqual([{ jobId: JOB, runNumber: 1, attempt: 1 }])
    expect(fakes.inputsOf('cleanupAttempt')).toEqual([{ jobId: JOB, runNumber: 1, attempt: 1, runFinished: true }])
  })

  it('cancelled in a later attempt, records that attempt as the one cancelled', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.attempt = async (_host, ref) => (ref.attempt === 1 ? failedWith('infra') : untilCancelled())
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes)
    await eventually(
      () => fakes.inputsOf('runAttempt').length === 2 && fakes.inFlight.size === 1,
      (ok) => ok,
      { timeoutMs: 30_000 },
    )
    await handle.cancel()

    await expectCancelled(handle)
    expect(fakes.inputsOf('recordAttempt').map((r) => [r.attempt, r.completeRun])).toEqual([[1, false]])
    expect(fakes.inputsOf('cancelRun')).toEqual([{ jobId: JOB, runNumber: 1, attempt: 2 }])
    expect(fakes.inputsOf('cleanupAttempt').map((c) => [c.attempt, c.runFinished])).toEqual([
      [1, false],
      [2, true],
    ])
  })

  it('cancelled while it waits for a slot, records the run cancelled and has nothing to clean up', async () => {
    const fakes = new FakeActivities(['a'])
    fakes.place = () => null
    await env.startWorkers(fakes, ['a'])
    const handle = await startRun(fakes)
    await eventually(
      () => fakes.inputsOf('placeAttempt').length,
      (n) => n === 1,
      { timeoutMs: 30_000 },
    )
    await handle.cancel()

    await expectCancelled(handle)
    expect(fakes.story()).toEqual(['tryPlaceAttempt@main', 'placeAttempt@main', 'cancelRun@main'])
    expect(fakes.inputsOf('cancelRun')).toEqual([{ jobId: JOB, runNumber: 1, attempt: 1 }])
  })
})
