/**
 * The task store's sweep removes stored tasks that no job references and old staging directories,
 * and never a task an upload is between storing and referencing (it waits for that upload's lock).
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { withTaskReferences } from '../../src/db/task-refs.js'
import { createLogger } from '../../src/logger.js'
import { sweepStoredTasks } from '../../src/runtime/task-sweep.js'
import { eventually } from '../helpers/eventually.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
let storeDir: string
beforeAll(async () => {
  tdb = await createTestDatabase()
  storeDir = await mkdtemp(path.join(os.tmpdir(), 'hr-task-sweep-'))
})
afterAll(async () => {
  await tdb.drop()
  await rm(storeDir, { recursive: true, force: true })
})

async function storedTask(name: string): Promise<string> {
  const dir = path.join(storeDir, name)
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'task.toml'), '[task]\n')
  return dir
}

async function waitingLocks(): Promise<number> {
  const { rows } = await tdb.pool.query<{ n: number }>(
    "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted",
  )
  return rows[0]!.n
}

it('removes unreferenced tasks and old staging directories, and waits for an upload under way', async () => {
  const [referenced, unreferenced, uploading] = ['a', 'b', 'c'].map((c) => c.repeat(64))
  await insertTestJob(tdb.db, 1, { taskSha256: referenced })
  await storedTask(referenced!)
  await storedTask(unreferenced!)
  const oldStaging = await storedTask('.tmp-left-by-a-crash')
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000)
  await utimes(oldStaging, twoHoursAgo, twoHoursAgo)
  const freshStaging = await storedTask('.tmp-being-stored')
  const other = await storedTask('not-a-task')

  // An upload holds the task's lock from before storing it until its job commits.
  const sweep: { removed?: Promise<number> } = {}
  await withTaskReferences(tdb.db, [uploading!], async (trx) => {
    await storedTask(uploading!)
    sweep.removed = sweepStoredTasks(tdb.db, storeDir, createLogger('error'))
    // The sweep waits for the upload's lock before it looks at that task.
    expect(await eventually(waitingLocks, (n) => n === 1, { timeoutMs: 10_000 })).toBe(1)
    await insertTestJob(trx, 1, { taskSha256: uploading })
  })
  expect(await sweep.removed).toBe(1)

  expect(existsSync(path.join(storeDir, unreferenced!))).toBe(false)
  expect(existsSync(path.join(storeDir, referenced!))).toBe(true)
  expect(existsSync(path.join(storeDir, uploading!))).toBe(true)
  expect(existsSync(oldStaging)).toBe(false)
  expect(existsSync(freshStaging)).toBe(true)
  expect(existsSync(other)).toBe(true)
})

it('finds nothing to do in a store that does not exist yet', async () => {
  expect(await sweepStoredTasks(tdb.db, path.join(storeDir, 'missing'), createLogger('error'))).toBe(0)
})
