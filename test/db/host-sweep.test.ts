/**
 * The sweep removes from a host what runs left once they are over (or that the database does not
 * know), never the files of a run still going or of a harness still alive, and frees the slots of
 * attempts whose run is over.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { placeAttempt, announceHost } from '../../src/db/hosts.js'
import { setRunStatus, cancelRun } from '../../src/db/runs.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { createLogger } from '../../src/logger.js'
import { sweepHost } from '../../src/runtime/host-sweep.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
let workDir: string
beforeAll(async () => {
  tdb = await createTestDatabase()
  workDir = await mkdtemp(path.join(os.tmpdir(), 'hr-sweep-'))
})
afterAll(async () => {
  await tdb.drop()
  await rm(workDir, { recursive: true, force: true })
})

async function attemptDir(jobId: string, run: number, opts: { started?: boolean; attempt?: number } = {}) {
  const proc = path.join(workDir, 'runs', jobId, `run-${run}`, `attempt-${opts.attempt ?? 1}`, 'proc')
  await mkdir(proc, { recursive: true })
  if (opts.started) await writeFile(path.join(proc, 'started'), '1')
  return path.dirname(proc)
}

it('removes the leftovers of finished and unknown runs only, and frees their slots', async () => {
  const host = new LocalHost('local', workDir)
  const { jobId, runIds } = await insertTestJob(tdb.db, 3)
  await announceHost(tdb.db, { id: 'local', kind: 'local', address: workDir, slots: 4, healthy: true, problem: null })
  // Run 1 is over (cancelled) but its attempt was never closed; run 2 is still going; run 3 is over
  // and its harness (a stand-in holding the supervisor's lock) is still alive.
  await placeAttempt(tdb.db, runIds[0]!, 1)
  await setRunStatus(tdb.db, runIds[0]!, 'cancelled', 1)
  await setRunStatus(tdb.db, runIds[1]!, 'running', 1)
  await cancelRun(tdb.db, runIds[2]!, 1)
  const finished = await attemptDir(jobId, 1, { started: true })
  const going = await attemptDir(jobId, 2, { started: true })
  const alive = await attemptDir(jobId, 3, { started: true })
  const holder = spawn('flock', [path.join(alive, 'proc', 'lock'), 'sleep', '30'], { stdio: 'ignore' })
  await new Promise((r) => setTimeout(r, 300))
  const unknown = await attemptDir('00000000-0000-4000-8000-000000000000', 1, { started: true })

  const openAttempts = () =>
    tdb.db.selectFrom('run_attempts').select('run_id').where('finished_at', 'is', null).execute()
  expect(await openAttempts()).toEqual([{ run_id: runIds[0] }])
  try {
    const removed = await sweepHost(tdb.db, host, createLogger('error'))
    expect(removed).toBe(2)
    expect(existsSync(finished)).toBe(false)
    expect(existsSync(unknown)).toBe(false)
    expect(existsSync(path.join(workDir, 'runs', '00000000-0000-4000-8000-000000000000'))).toBe(false)
    expect(existsSync(going)).toBe(true)
    expect(existsSync(alive)).toBe(true)
  } finally {
    holder.kill()
  }
  expect(await openAttempts()).toEqual([])
})

it("leaves a retried run's next attempt, staging beside the ended one's leftovers", async () => {
  const host = new LocalHost('local', workDir)
  const { jobId, runIds } = await insertTestJob(tdb.db, 1)
  // The run ended after one attempt; a retry has placed nothing yet but its directory is being staged.
  await placeAttempt(tdb.db, runIds[0]!, 1)
  await cancelRun(tdb.db, runIds[0]!, 1)
  const ended = await attemptDir(jobId, 1, { started: true })
  const staging = await attemptDir(jobId, 1, { attempt: 2 })
  await sweepHost(tdb.db, host, createLogger('error'))
  expect(existsSync(ended)).toBe(false)
  expect(existsSync(staging)).toBe(true)
})
