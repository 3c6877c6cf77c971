/**
 * Stopping a harness, as a small state machine over plain timestamps: asked to stop (cancelled by the
 * workflow, or past the job's time limit), it is sent SIGTERM (a cancel to its runner's trial) once;
 * still running past the grace, it is killed, on every tick from then on until it is gone. A harness
 * stopped by cancellation is done once it no longer runs; one stopped for being overdue ends as any
 * other, with its exit record.
 */
import type { HarnessProcessState } from '../hosts/execution-host.js'

/** What the follower should do now: nothing, ask the harness to stop, kill it, or end the attempt cancelled. */
export type StopStep = 'none' | 'term' | 'kill' | 'done'

export type StopReason = 'cancelled' | 'overdue'

export class HarnessStop {
  private stopping: { since: number; reason: StopReason } | null = null

  constructor(private readonly graceMs: number) {}

  /** Why it is being stopped, or null while it is not. */
  get reason(): StopReason | null {
    return this.stopping?.reason ?? null
  }

  /** The workflow cancelled the attempt: stop the harness, unless it is already being stopped. */
  cancel(now: number): StopStep {
    return this.begin(now, 'cancelled')
  }

  /** The run passed its time limit: stop the harness, unless it is already being stopped. */
  overdue(now: number): StopStep {
    return this.begin(now, 'overdue')
  }

  /** After a wait while stopping: kill it once the grace has passed since it was asked to stop. */
  tick(now: number): StopStep {
    if (this.stopping === null) return 'none'
    return now - this.stopping.since > this.graceMs ? 'kill' : 'none'
  }

  /** After a probe: a harness stopped by cancellation is done once it no longer runs. */
  settle(state: HarnessProcessState['state']): StopStep {
    return this.stopping?.reason === 'cancelled' && state !== 'running' ? 'done' : 'none'
  }

  private begin(now: number, reason: StopReason): StopStep {
    if (this.stopping !== null) return 'none'
    this.stopping = { since: now, reason }
    return 'term'
  }
}
