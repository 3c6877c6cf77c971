/** How often, and how, the harness activity reads the files of the harness it follows. */

/**
 * How long a harness's follower sleeps between reads, given how many harnesses this worker follows.
 * Every read of every harness costs a few file reads and a transaction; past a few hundred harnesses
 * the interval grows with their number (1 ms each, at most 1 s), so a worker following hundreds
 * keeps time for starting and finishing runs rather than re-reading logs that have not changed.
 */
export function pollInterval(baseMs: number, following: number): number {
  return Math.max(baseMs, Math.min(following, 1000))
}

/** Followed live: the least time between two reads of one harness, so that a chatty one is read in batches. */
const READ_GAP_MS = 50

/**
 * How one harness is followed. Live (its files read as they are written, where the host reports
 * changes, else polled at the base interval) while the worker follows at most `liveUpTo` harnesses,
 * and always while someone watches the run; otherwise polled at `pollInterval`. Past a couple of
 * hundred chatty harnesses on 2 cores, the change notices of all of them cost more CPU than polls
 * (docs/benchmarks/load.md, measurement 4), but the few that people watch cost
 * little, and there a line's delay is what the user sees.
 */
export function followMode(o: { baseMs: number; following: number; liveUpTo: number; watched: boolean }): {
  pollMs: number
  watch: boolean
  minGapMs: number
} {
  return {
    pollMs: o.watched ? o.baseMs : pollInterval(o.baseMs, o.following),
    watch: o.watched || o.following <= o.liveUpTo,
    minGapMs: READ_GAP_MS,
  }
}
