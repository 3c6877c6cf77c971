/**
 * How a worker follows each harness, given how many it follows and whether someone watches the run:
 * live up to FOLLOW_LIVE_UP_TO harnesses and always when watched, else polled less often as they grow.
 */
import { describe, expect, it } from 'vitest'
import { followMode, pollInterval } from '../../../src/activities/follow-mode.js'

describe('pollInterval', () => {
  it('reads harness logs less often only when a worker follows hundreds of harnesses', () => {
    expect(pollInterval(250, 1)).toBe(250)
    expect(pollInterval(250, 250)).toBe(250)
    expect(pollInterval(250, 600)).toBe(600)
    expect(pollInterval(250, 5000)).toBe(1000)
  })
})

describe('followMode', () => {
  const mode = (following: number, watched: boolean) => followMode({ baseMs: 250, following, liveUpTo: 200, watched })

  it('follows every harness live while the worker follows at most the limit', () => {
    expect(mode(1, false).watch).toBe(true)
    expect(mode(200, false).watch).toBe(true)
  })

  it('past the limit, polls the runs nobody watches, less often as they grow', () => {
    expect(mode(201, false)).toMatchObject({ watch: false, pollMs: 250 })
    expect(mode(600, false)).toMatchObject({ watch: false, pollMs: 600 })
  })

  it('follows a watched run live whatever the load, at the base interval where the host cannot watch', () => {
    expect(mode(600, true)).toMatchObject({ watch: true, pollMs: 250 })
    expect(mode(5000, true)).toMatchObject({ watch: true, pollMs: 250 })
  })

  it('with a limit of 0, follows live only the watched runs', () => {
    expect(followMode({ baseMs: 250, following: 1, liveUpTo: 0, watched: false }).watch).toBe(false)
    expect(followMode({ baseMs: 250, following: 1, liveUpTo: 0, watched: true }).watch).toBe(true)
  })
})
