/**
 * Stopping a harness over plain timestamps: asked to stop once (cancelled or overdue), killed on
 * every tick once the grace has passed, and done (when cancelled) as soon as it no longer runs.
 */
import { describe, expect, it } from 'vitest'
import { HarnessStop } from '../../../src/activities/harness-stop.js'

const GRACE = 1_000

describe('HarnessStop', () => {
  it('does nothing while it has not been asked to stop', () => {
    const stop = new HarnessStop(GRACE)
    expect(stop.reason).toBeNull()
    expect(stop.tick(1_000_000)).toBe('none')
    expect(stop.settle('exited')).toBe('none')
  })

  it('sends SIGTERM once when cancelled, and only once however often asked', () => {
    const stop = new HarnessStop(GRACE)
    expect(stop.cancel(100)).toBe('term')
    expect(stop.reason).toBe('cancelled')
    expect(stop.cancel(200)).toBe('none')
    expect(stop.overdue(300)).toBe('none')
    expect(stop.reason).toBe('cancelled')
  })

  it('waits the grace before killing, then kills on every tick until it is gone', () => {
    const stop = new HarnessStop(GRACE)
    stop.cancel(100)
    expect(stop.tick(100)).toBe('none')
    expect(stop.tick(100 + GRACE - 1)).toBe('none')
    // Exactly the grace is still within it; a millisecond past, it is killed.
    expect(stop.tick(100 + GRACE)).toBe('none')
    expect(stop.tick(100 + GRACE + 1)).toBe('kill')
    expect(stop.tick(100 + GRACE + 500)).toBe('kill')
  })

  it('counts the grace from the first request to stop, not from a later one', () => {
    const stop = new HarnessStop(GRACE)
    stop.overdue(100)
    stop.cancel(900)
    expect(stop.tick(100 + GRACE + 1)).toBe('kill')
  })

  it('is done once a cancelled harness no longer runs', () => {
    const stop = new HarnessStop(GRACE)
    stop.cancel(100)
    expect(stop.settle('running')).toBe('none')
    expect(stop.settle('exited')).toBe('done')
    expect(stop.settle('lost')).toBe('done')
    expect(stop.settle('absent')).toBe('done')
  })

  it('leaves a harness stopped for its time limit to end with its exit record', () => {
    const stop = new HarnessStop(GRACE)
    expect(stop.overdue(100)).toBe('term')
    expect(stop.reason).toBe('overdue')
    expect(stop.settle('exited')).toBe('none')
    expect(stop.settle('lost')).toBe('none')
    expect(stop.tick(100 + GRACE + 1)).toBe('kill')
  })
})
