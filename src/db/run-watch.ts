/**
 * Which runs someone watches live. The API announces each run whose log stream is open (a NOTIFY on
 * `run_watch` with the run id), at once and again every ANNOUNCE_EVERY_MS while a stream stays open;
 * every worker listens, and counts a run watched until WATCHED_FOR_MS after its last announcement.
 * A worker reads a watched run's files as they are written however many harnesses it follows (see
 * `followMode` in run-harness.ts), so a line reaches the people watching at once, while the
 * hundreds of runs nobody looks at are polled.
 *
 * Nothing is stored: a worker that starts late learns of the open streams at the next announcement,
 * and a stream closed is forgotten when its last announcement runs out.
 */
import { sql } from 'kysely'
import type { Db } from './database.js'
import { listen } from './listen.js'

export const RUN_WATCH_CHANNEL = 'run_watch'
export const ANNOUNCE_EVERY_MS = 10_000
export const WATCHED_FOR_MS = 3 * ANNOUNCE_EVERY_MS

/** Tells every worker that these runs are watched now. */
export async function announceRunWatches(db: Db, runIds: readonly string[]): Promise<void> {
  if (runIds.length === 0) return
  await sql`select pg_notify(${RUN_WATCH_CHANNEL}, id) from unnest(${[...runIds]}::text[]) as id`.execute(db)
}

/** The API's side: the runs with an open log stream, announced while they have one. */
export interface RunWatchAnnouncer {
  /** A stream of `runId` opened: announced now, and every interval until the returned function is called. */
  open(runId: string): () => void
  close(): void
}

export function runWatchAnnouncer(
  db: Db,
  onError: (err: unknown) => void,
  everyMs = ANNOUNCE_EVERY_MS,
): RunWatchAnnouncer {
  const streams = new Map<string, number>()
  const announce = (runIds: readonly string[]) => void announceRunWatches(db, runIds).catch(onError)
  const timer = setInterval(() => announce([...streams.keys()]), everyMs)
  timer.unref()
  return {
    open(runId) {
      const count = streams.get(runId) ?? 0
      streams.set(runId, count + 1)
      if (count === 0) announce([runId])
      let closed = false
      return () => {
        if (closed) return
        closed = true
        const left = (streams.get(runId) ?? 1) - 1
        if (left > 0) streams.set(runId, left)
        else streams.delete(runId)
      }
    },
    close() {
      clearInterval(timer)
      streams.clear()
    },
  }
}

/** A worker's side: the runs announced within the last `watchedForMs`. */
export interface WatchedRuns {
  has(runId: string): boolean
  close(): Promise<void>
}

export function listenForWatchedRuns(
  databaseUrl: string,
  onError: (err: unknown) => void,
  watchedForMs = WATCHED_FOR_MS,
): WatchedRuns {
  const until = new Map<string, number>()
  const listener = listen(databaseUrl, RUN_WATCH_CHANNEL, {
    onPayload: (runId) => {
      if (runId) until.set(runId, Date.now() + watchedForMs)
    },
    onError,
  })
  // Forgets the runs whose announcements ran out, so that the map holds only the watched ones.
  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [runId, t] of until) if (t < now) until.delete(runId)
  }, watchedForMs)
  sweep.unref()
  return {
    has(runId) {
      const t = until.get(runId)
      return t !== undefined && t >= Date.now()
    },
    async close() {
      clearInterval(sweep)
      await listener.close()
    },
  }
}
