import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { migrations } from '../../migrations/index.js'
import { migrateToLatest } from '../../src/db/database.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
beforeAll(async () => {
  tdb = await createTestDatabase()
})
afterAll(() => tdb.drop())

it('lists every migration file, in name order', async () => {
  const files = (await readdir(path.join(PROJECT_ROOT, 'migrations')))
    .filter((f) => /^\d{4}_\d{2}_\d{2}_\d{6}_.+\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort()
  expect(Object.keys(migrations)).toEqual(files)
})

it('has applied them all, and applying again changes nothing', async () => {
  expect(await migrateToLatest(tdb.db)).toEqual([])
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(tdb.db)
  expect(rows.map((r) => r.table_name)).toEqual(
    expect.arrayContaining(['jobs', 'job_secrets', 'runs', 'run_attempts', 'run_log_lines', 'run_log_cursors']),
  )
})
