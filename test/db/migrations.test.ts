import { randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { migrations } from '../../migrations/index.js'
import * as addRunLogLinePhase from '../../migrations/2026_12_06_001000_add_run_log_line_phase.js'
import { migrateToLatest } from '../../src/db/database.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { insertTestJob } from '../helpers/fixtures.js'
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

it("gives the phase lines written before phases were stored theirs: Harbor's by event, our own by their phase", async () => {
  const { runIds } = await insertTestJob(tdb.db, 1)
  const runId = runIds[0]!
  await addRunLogLinePhase.down(tdb.db)
  const lines: [string, string][] = [
    ['phase', '{"event": "agent_setup_started", "trial": "t", "time": "2026-01-01T00:00:00Z"}'],
    ['phase', '{"event":"phase_changed","phase":"verifier","time":"2026-01-01T00:00:01Z"}'],
    ['phase', '{"event": "something_new", "trial": "t"}'],
    ['phase', 'not json'],
    ['harbor', '{"event": "agent_started"}'],
  ]
  await tdb.db
    .insertInto('run_log_lines')
    .values(lines.map(([stream, line], i) => ({ run_id: runId, seq: i + 1, attempt: 1, stream, line })))
    .execute()
  await addRunLogLinePhase.up(tdb.db)
  const rows = await tdb.db
    .selectFrom('run_log_lines')
    .select(['seq', 'phase'])
    .where('run_id', '=', runId)
    .orderBy('seq')
    .execute()
  expect(rows.map((r) => r.phase)).toEqual(['agent_setup', 'verifier', null, null, null])
})

it('leaves which harnesses there are to the harness registry: a job of any harness the upload let through is kept', async () => {
  const jobId = randomUUID()
  const job = {
    id: jobId,
    task_name: 't',
    harness: 'third',
  }
  const rest = {
    agent: 'oracle',
    model: 'm',
    environment: 'docker',
    n_runs: 1,
    runs_per_task: 1,
    max_parallel: 1,
    timeout_multiplier: 1,
  }
  await tdb.db
    .insertInto('jobs')
    .values({ ...job, ...rest, status: 'queued' })
    .execute()
  const stored = await tdb.db.selectFrom('jobs').select('harness').where('id', '=', jobId).executeTakeFirstOrThrow()
  expect(stored.harness).toBe('third')
})
