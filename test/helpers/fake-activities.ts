/**
 * Stub activities for the workflow tests (workflow-env.ts): the job activities of the main queue
 * and the host activities of each host's queue, as plain functions that record every call and do
 * what the test says. Placement goes to the first host not avoided; an attempt passes at once;
 * nothing began on a host the attempt did not reach. Each can be replaced by a test.
 */
import { randomBytes } from 'node:crypto'
import { CancelledFailure, Context, heartbeat } from '@temporalio/activity'
import type { HostActivities, AttemptRef } from '../../src/activities/host-activities.js'
import type { JobActivities, JobSummary, PlacedAttempt } from '../../src/activities/job-activities.js'
import type { JobMetrics } from '../../src/metrics/job-metrics.js'
import { hostTaskQueue } from '../../src/shared/ids.js'
import { errorOutcome, type AttemptOutcome } from '../../src/shared/outcome.js'
import type { ErrorClass } from '../../src/shared/status.js'
import type { RetriedRun } from '../../src/shared/job-control.js'

export interface Call {
  activity: string
  /** The host whose queue ran it; null for the main queue's. */
  host: string | null
  input: any
}

export type PlaceInput = Parameters<JobActivities['tryPlaceAttempt']>[0]
export type AttemptResult = Awaited<ReturnType<HostActivities['runAttempt']>>

export class FakeActivities {
  /** The main task queue; each host's queue is derived from it as the service derives it. */
  readonly taskQueue = `wf-test-${randomBytes(4).toString('hex')}`
  readonly calls: Call[] = []
  /** The run numbers whose attempts are in `runAttempt` now. */
  readonly inFlight = new Set<number>()
  /** `inFlight` as each attempt came in (the most at once is among them). */
  readonly inFlightSeen: number[][] = []

  /** Runs that have ended (their last attempt recorded as the run's), by run number: their last attempt. */
  readonly ended = new Map<number, number>()
  /** How many times each run was retried. */
  readonly retries = new Map<number, number>()
  private readonly reopenedBy = new Map<string, RetriedRun[]>()

  /** The host for an attempt, or null: none has room (`tryPlaceAttempt`) or still none (`placeAttempt` waits). */
  place: (input: PlaceInput, how: 'try' | 'wait') => string | null
  /** Whether the attempt had begun on its host when its workers stopped taking it. */
  began: (input: { runId: string }) => boolean = () => false
  /** What writing a pause or resume waits for. */
  pausing: (paused: boolean) => Promise<void> = async () => {}
  /** What recording the job as ended waits for first. */
  finalizing: () => Promise<void> = async () => {}
  /** How an attempt goes on a host. */
  attempt: (hostId: string, ref: AttemptRef) => Promise<AttemptResult> = async () => passed()

  constructor(readonly hosts: readonly string[] = ['a']) {
    this.place = (input) => this.hosts.find((h) => !input.avoid?.includes(h)) ?? null
  }

  /** The inputs of every call of `activity`, in order. */
  inputsOf(activity: string): any[] {
    return this.calls.filter((c) => c.activity === activity).map((c) => c.input)
  }

  /** Each call as `activity@host`, in order (`@main` for the main queue's). */
  story(): string[] {
    return this.calls.map((c) => `${c.activity}@${c.host ?? 'main'}`)
  }

  /** The most attempts in flight at once among those whose run number `within` accepts. */
  mostAtOnce(within: (runNumber: number) => boolean = () => true): number {
    return Math.max(0, ...this.inFlightSeen.map((seen) => seen.filter(within).length))
  }

  jobActivities(): JobActivities {
    const record = (activity: string, input: unknown) => void this.calls.push({ activity, host: null, input })
    const placed = (input: PlaceInput, hostId: string): PlacedAttempt => ({
      runId: runIdOf(input.runNumber),
      hostId,
      hostTaskQueue: hostTaskQueue(this.taskQueue, hostId),
    })
    return {
      markJobRunning: async (jobId) => record('markJobRunning', jobId),
      tryPlaceAttempt: async (input) => {
        record('tryPlaceAttempt', input)
        const hostId = this.place(input, 'try')
        return hostId === null ? null : placed(input, hostId)
      },
      placeAttempt: async (input) => {
        record('placeAttempt', input)
        let hostId: string | null
        await until(() => (hostId = this.place(input, 'wait')) !== null)
        return placed(input, hostId!)
      },
      attemptBegan: async (input) => {
        record('attemptBegan', input)
        return this.began(input)
      },
      recordAttempt: async (input) => {
        record('recordAttempt', input)
        if (input.completeRun) this.ended.set(Number(input.runId.replace('run-', '')), input.attempt)
      },
      setJobPaused: async (input) => {
        record('setJobPaused', input)
        await this.pausing(input.paused)
        record('setJobPausedDone', input)
      },
      reopenJob: async (jobId) => record('reopenJob', jobId),
      reopenRuns: async (input) => {
        record('reopenRuns', input)
        const earlier = this.reopenedBy.get(input.requestId)
        if (earlier) return earlier
        const reopened: RetriedRun[] = []
        for (const runNumber of input.runNumbers) {
          const last = this.ended.get(runNumber)
          if (last === undefined) continue
          this.ended.delete(runNumber)
          const retry = (this.retries.get(runNumber) ?? 0) + 1
          this.retries.set(runNumber, retry)
          reopened.push({ runNumber, retry, firstAttempt: last + 1 })
        }
        this.reopenedBy.set(input.requestId, reopened)
        return reopened
      },
      cancelRun: async (input) => record('cancelRun', input),
      finalizeJob: async (input): Promise<JobSummary> => {
        record('finalizeJob', input)
        await this.finalizing()
        record('finalizedJob', input)
        return { status: input.cancelled ? 'cancelled' : 'completed', metrics: {} as JobMetrics }
      },
    }
  }

  hostActivities(hostId: string): HostActivities {
    return {
      runAttempt: async (ref) => {
        this.calls.push({ activity: 'runAttempt', host: hostId, input: ref })
        this.inFlight.add(ref.runNumber)
        this.inFlightSeen.push([...this.inFlight])
        try {
          return await this.attempt(hostId, ref)
        } catch (err) {
          if (err instanceof CancelledFailure)
            this.calls.push({ activity: 'attemptCancelled', host: hostId, input: ref })
          throw err
        } finally {
          this.inFlight.delete(ref.runNumber)
        }
      },
      cleanupAttempt: async (input) => void this.calls.push({ activity: 'cleanupAttempt', host: hostId, input }),
    }
  }
}

export function runIdOf(runNumber: number): string {
  return `run-${runNumber}`
}

/** Waits, heartbeating, until `done()`; a cancellation of the activity ends the wait with CancelledFailure. */
export async function until(done: () => boolean): Promise<void> {
  while (!done()) {
    heartbeat()
    await Context.current().sleep(20)
  }
}

/** An attempt that runs until it is cancelled. */
export const untilCancelled = () => until(() => false).then(() => passed())

export function passed(): AttemptResult {
  return {
    outcome: { ...errorOutcome('infra', ''), outcome: 'passed', error_class: null, error_message: null, reward: 1 },
    harness: { state: 'exited', exitCode: 0, startedAtMs: 1_000, finishedAtMs: 2_000, overdue: null },
  }
}

export function failedWith(errorClass: ErrorClass): AttemptResult {
  const outcome: AttemptOutcome = errorOutcome(errorClass, `simulated ${errorClass} error`)
  return { outcome, harness: { state: 'exited', exitCode: 1, startedAtMs: 1_000, finishedAtMs: 2_000, overdue: null } }
}
