/**
 * Watched runs over a real PostgreSQL: the API's announcer tells the workers' listeners which runs
 * have an open log stream, again while it stays open, and a run's watch runs out once nobody
 * announces it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  announceRunWatches,
  listenForWatchedRuns,
  runWatchAnnouncer,
  type WatchedRuns,
} from '../../src/db/run-watch.js'
import { eventually } from '../helpers/eventually.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
const closers: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  tdb = await createTestDatabase()
})
afterAll(async () => {
  for (const close of closers) await close()
  await tdb?.drop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether `check` comes to hold within 5 s. */
const until = (check: () => boolean) => eventually(check, (held) => held)

/** A listener whose LISTEN is in place (an announcement made before it would be missed). */
async function listening(watchedForMs: number): Promise<WatchedRuns> {
  const watched = listenForWatchedRuns(tdb.url, (err) => console.error(err), watchedForMs)
  closers.push(() => watched.close())
  // Probe with an id of its own until one arrives.
  const probe = `probe-${Math.random()}`
  expect(
    await until(() => {
      void announceRunWatches(tdb.db, [probe])
      return watched.has(probe)
    }),
  ).toBe(true)
  return watched
}

describe('watched runs', () => {
  it('are known to every listener soon after an announcement, and only those', async () => {
    const [a, b] = [await listening(10_000), await listening(10_000)]
    await announceRunWatches(tdb.db, ['run-1', 'run-2'])
    expect(await until(() => a.has('run-1') && a.has('run-2') && b.has('run-1') && b.has('run-2'))).toBe(true)
    expect(a.has('run-3')).toBe(false)
  })

  it('run out when no announcement renews them', async () => {
    const watched = await listening(300)
    await announceRunWatches(tdb.db, ['short'])
    expect(await until(() => watched.has('short'))).toBe(true)
    await sleep(400)
    expect(watched.has('short')).toBe(false)
  })

  it('are announced while a stream is open, however many streams a run has, and no longer', async () => {
    const watched = await listening(300)
    const announcer = runWatchAnnouncer(tdb.db, (err) => console.error(err), 100)
    closers.push(() => announcer.close())
    const first = announcer.open('streamed')
    const second = announcer.open('streamed')
    expect(await until(() => watched.has('streamed'))).toBe(true)
    // Renewed every 100 ms: still watched well past the 300 ms a single announcement lasts.
    await sleep(700)
    expect(watched.has('streamed')).toBe(true)
    first()
    first() // closing twice counts once
    await sleep(700)
    expect(watched.has('streamed')).toBe(true)
    second()
    await sleep(700)
    expect(watched.has('streamed')).toBe(false)
  })
})
