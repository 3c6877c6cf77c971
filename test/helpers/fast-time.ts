/**
 * Workflow interceptors for the workflow tests (test/workflows): the workflows' own durations, run
 * faster. Timers (the backoff between attempts) last 1/TIMER_SCALE of what the workflow asked, and an
 * activity's schedule-to-start timeout (how long a host's workers get to take up an attempt)
 * 1/SCHEDULE_TO_START_SCALE. The workflow code is the service's, unchanged: its history shows the
 * scaled durations, which the tests multiply back.
 *
 * (The Temporal SDK's time-skipping test server would make this unnecessary, but it is a download
 * that this machine cannot fetch; the tests run on the suite's Temporal dev server instead.)
 *
 * Runs inside the workflow sandbox: imports only @temporalio/workflow and @temporalio/common.
 */
import { msToNumber } from '@temporalio/common/lib/time.js'
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow'

/** 5 s of backoff last 50 ms; every scaled timer is a whole number of milliseconds. */
export const TIMER_SCALE = 100
/** A minute to take up an attempt lasts 2 s: a live worker takes a task in milliseconds. */
export const SCHEDULE_TO_START_SCALE = 30

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      startTimer: (input, next) => next({ ...input, durationMs: input.durationMs / TIMER_SCALE }),
      scheduleActivity: (input, next) => {
        const timeout = input.options.scheduleToStartTimeout
        if (timeout === undefined) return next(input)
        const scaled = Math.round(msToNumber(timeout) / SCHEDULE_TO_START_SCALE)
        return next({ ...input, options: { ...input.options, scheduleToStartTimeout: scaled } })
      },
    },
  ],
})
