/**
 * Two uploads of the same task at once, one of which fails after storing it: the stored task is
 * content-addressed and shared, so the failed upload must not remove it while the other upload is
 * between storing it and committing its job (that job's runs would find no task). The race is made
 * deterministic by holding the lock the second upload's job insert takes (its owner's limits), and
 * by failing the first upload's workflow start when the test says so.
 */
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestApp, uploadTo, type TestApp } from '../helpers/api-app.js'
import { eventually } from '../helpers/eventually.js'
import { recordAttacks } from '../helpers/reliability.js'
import { buildZip, harborTask } from '../helpers/task-zips.js'

const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' }

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

/** Advisory locks some session is waiting for. */
async function waitingLocks(): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(
    "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted",
  )
  return rows[0]!.n
}

recordAttacks('upload_race')

it('keeps a stored task that a concurrent upload references when the upload that stored it fails', async () => {
  const zip = await buildZip(harborTask())
  let failFirstStart!: () => void
  const firstStartFails = new Promise<void>((resolve) => (failFirstStart = resolve))
  t.start = async () => {
    if (t.started.length > 1) return
    await firstStartFails
    throw new Error('Temporal is not reachable')
  }

  // Upload 1 stores the task, commits its job, and waits in its workflow start.
  const first = uploadTo(t.app, zip, FIELDS)
  let firstAnswered = false
  void first.finally(() => (firstAnswered = true))
  expect(
    await eventually(
      async () => t.started.length,
      (n) => n === 1,
      { timeoutMs: 20_000 },
    ),
  ).toBe(1)

  // Upload 2 of the same bytes stops inside its job insert, on its owner's lock, held here.
  const holder = new pg.Client({ connectionString: t.db.url })
  await holder.connect()
  try {
    await holder.query('begin')
    await holder.query("select pg_advisory_xact_lock(hashtext('harbor-runner:owner:anonymous'))")
    const second = uploadTo(t.app, zip, FIELDS)
    expect(await eventually(waitingLocks, (n) => n === 1, { timeoutMs: 20_000 })).toBe(1)

    // Upload 1 fails now and rolls back: it either answers, or waits until upload 2 is done.
    failFirstStart()
    const settled = await eventually(
      async () => ({ answered: firstAnswered, waiting: await waitingLocks() }),
      (s) => s.answered || s.waiting === 2,
      { timeoutMs: 20_000 },
    )
    expect(settled.answered || settled.waiting === 2).toBe(true)
    await holder.query('commit')

    const [one, two] = await Promise.all([first, second])
    expect(one).toMatchObject({ status: 503, body: { error: { code: 'orchestrator_unavailable' } } })
    expect(two.status).toBe(201)
    const jobs = await t.db.db.selectFrom('job_tasks').select(['job_id', 'sha256']).execute()
    expect(jobs).toEqual([{ job_id: two.body.job_id, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }])
    expect(existsSync(path.join(t.config.dataDir, 'tasks', jobs[0]!.sha256))).toBe(true)
  } finally {
    await holder.end()
  }
})

it('removes the stored task of a failed upload that no job references', async () => {
  t.start = async () => {
    throw new Error('Temporal is not reachable')
  }
  const zip = await buildZip({ ...harborTask(), 'instruction.md': 'Print hello, once.\n' })
  const res = await uploadTo(t.app, zip, FIELDS)
  expect(res).toMatchObject({ status: 503, body: { error: { code: 'orchestrator_unavailable' } } })
  const referenced = new Set((await t.db.db.selectFrom('job_tasks').select('sha256').execute()).map((j) => j.sha256))
  const stored = await readdir(path.join(t.config.dataDir, 'tasks'))
  expect(stored.filter((sha256) => !referenced.has(sha256))).toEqual([])
})
