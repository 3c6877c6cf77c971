/**
 * Placement: the healthy, live host with the most free slots; never past a host's slots; a host to
 * avoid (it did not take up an attempt in time) is left for others while another has room, and used
 * again when it is the only live host with room (slow under load is not gone).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { announceHost, placeAttempt } from '../../src/db/hosts.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
beforeAll(async () => {
  tdb = await createTestDatabase()
})
afterAll(() => tdb.drop())

const host = (id: string, slots: number) =>
  announceHost(tdb.db, { id, kind: 'local', address: `/w/${id}`, slots, healthy: true, problem: null })

it('places on the host with the most free slots, within every host’s slots', async () => {
  await host('a', 2)
  await host('b', 1)
  const { runIds } = await insertTestJob(tdb.db, 4)
  const placed = []
  for (const runId of runIds) placed.push(await placeAttempt(tdb.db, runId, 1))
  // a has 2 free, then a and b 1 each (ties by id), then only b, then none.
  expect(placed).toEqual(['a', 'a', 'b', null])
})

it('avoids a host that did not take up an attempt while another has room, and falls back to it when none has', async () => {
  const { runIds } = await insertTestJob(tdb.db, 2)
  await host('c', 3)
  await host('d', 1)
  // Placed on c (most free), then c did not take it up in time: placed again, avoiding c.
  expect(await placeAttempt(tdb.db, runIds[0]!, 1)).toBe('c')
  expect(await placeAttempt(tdb.db, runIds[0]!, 1, ['c'])).toBe('d')
  // d is full now; c is the only live host with room: a slow host is better than none.
  expect(await placeAttempt(tdb.db, runIds[1]!, 1, ['c', 'd'])).toBe('c')
})

it('never gives two of many placements at once the same last slots', async () => {
  for (const id of ['a', 'b', 'c', 'd'])
    await announceHost(tdb.db, { id, kind: 'local', address: `/w/${id}`, slots: 1, healthy: false, problem: 'down' })
  await host('e', 5)
  const { runIds } = await insertTestJob(tdb.db, 20)
  const placed = await Promise.all(runIds.map((runId) => placeAttempt(tdb.db, runId, 1)))
  expect(placed.filter((h) => h === 'e')).toHaveLength(5)
  expect(placed.filter((h) => h === null)).toHaveLength(15)
  // Asked again (a retried activity), a placed attempt stays where it is.
  const again = runIds.find((_, i) => placed[i] === 'e')!
  expect(await placeAttempt(tdb.db, again, 1)).toBe('e')
})
