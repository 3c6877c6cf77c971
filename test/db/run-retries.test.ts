/**
 * The database side of job control (src/db/run-retries.ts) on a real PostgreSQL: a retry reopens
 * only ended runs, clears their outcome and keeps their attempts and log, is idempotent per request,
 * moves an ended job back to running, and refuses a job that lost its key; pausing moves only a
 * queued or running job; a paused job still counts against its owner's active limits.
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  finishJob,
  findJob,
  insertJobWithRuns,
  markJobRunning,
  OwnerLimitError,
  storeJobSecret,
} from '../../src/db/jobs.js'
import { KeyRequiredError, reopenRuns, setJobPaused } from '../../src/db/run-retries.js'
import { findRun, listAttempts, startAttempt } from '../../src/db/runs.js'
import { computeJobMetrics } from '../../src/metrics/job-metrics.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'
import { insertTestJob } from '../helpers/fixtures.js'

let tdb: TestDatabase
beforeAll(async () => {
  tdb = await createTestDatabase()
})
afterAll(() => tdb?.drop())

async function endRun(jobId: string, runNumber: number, outcome: 'passed' | 'failed' | 'error') {
  const run = (await findRun(tdb.db, jobId, runNumber))!
  await startAttempt(tdb.db, run.id, 1, 'a')
  await sql`update runs set status = 'completed', outcome = ${outcome}, reward = ${outcome === 'passed' ? 1 : 0},
    error_class = ${outcome === 'error' ? 'provider' : null}, finished_at = now() where id = ${run.id}`.execute(tdb.db)
  return run.id
}

it('reopens only ended runs, clears their outcome, keeps their attempts, and carries on the numbering', async () => {
  const { jobId } = await insertTestJob(tdb.db, 3)
  const ended = await endRun(jobId, 1, 'error')
  const retried = await reopenRuns(tdb.db, jobId, [1, 2], 'req-1')
  expect(retried).toEqual([{ runNumber: 1, retry: 1, firstAttempt: 2 }])
  const run = (await findRun(tdb.db, jobId, 1))!
  expect(run).toMatchObject({ status: 'queued', outcome: null, error_class: null, reward: null, retries: 1 })
  expect(await listAttempts(tdb.db, ended)).toHaveLength(1)
  const log = await tdb.db.selectFrom('run_log_lines').select('line').where('run_id', '=', ended).execute()
  expect(log.map((l) => l.line)).toContain('queued: retried, from attempt 2')
})

it('is idempotent per request: asked again, the same runs, and no second retry', async () => {
  const { jobId } = await insertTestJob(tdb.db, 2)
  await endRun(jobId, 1, 'failed')
  const first = await reopenRuns(tdb.db, jobId, [1], 'req-a')
  expect(await reopenRuns(tdb.db, jobId, [1], 'req-a')).toEqual(first)
  expect((await findRun(tdb.db, jobId, 1))!.retries).toBe(1)
  // Another request finds the run under way: nothing to reopen.
  expect(await reopenRuns(tdb.db, jobId, [1], 'req-b')).toEqual([])
})

it('reopens nothing for a request repeated after its runs ended again', async () => {
  const { jobId } = await insertTestJob(tdb.db, 1)
  await endRun(jobId, 1, 'failed')
  expect(await reopenRuns(tdb.db, jobId, [1], 'req-once')).toHaveLength(1)
  await sql`update runs set status = 'completed', outcome = 'failed' where job_id = ${jobId}`.execute(tdb.db)
  expect(await reopenRuns(tdb.db, jobId, [1], 'req-once')).toEqual([])
  expect((await findRun(tdb.db, jobId, 1))!).toMatchObject({ status: 'completed', retries: 1 })
})

it('moves an ended job back to running, and refuses a job given a key that it no longer has', async () => {
  const { jobId } = await insertTestJob(tdb.db, 1)
  await endRun(jobId, 1, 'failed')
  await finishJob(tdb.db, jobId, 'completed', computeJobMetrics([]), null)
  await reopenRuns(tdb.db, jobId, [1], 'r1')
  expect((await findJob(tdb.db, jobId))!).toMatchObject({ status: 'running', finished_at: null })

  const keyed = await insertTestJob(tdb.db, 1)
  await tdb.db.updateTable('jobs').set({ with_key: true }).where('id', '=', keyed.jobId).execute()
  await endRun(keyed.jobId, 1, 'failed')
  await finishJob(tdb.db, keyed.jobId, 'completed', computeJobMetrics([]), null)
  await expect(reopenRuns(tdb.db, keyed.jobId, [1], 'r2')).rejects.toBeInstanceOf(KeyRequiredError)
  expect((await findRun(tdb.db, keyed.jobId, 1))!.status).toBe('completed')
  await storeJobSecret(tdb.db, keyed.jobId, {
    ciphertext: Buffer.from('c'),
    iv: Buffer.from('i'),
    auth_tag: Buffer.from('t'),
  })
  expect(await reopenRuns(tdb.db, keyed.jobId, [1], 'r2')).toHaveLength(1)
})

it('pauses a queued or running job only, and resumes a paused one only', async () => {
  const { jobId } = await insertTestJob(tdb.db, 1)
  await setJobPaused(tdb.db, jobId, false)
  expect((await findJob(tdb.db, jobId))!.status).toBe('queued')
  await setJobPaused(tdb.db, jobId, true)
  expect((await findJob(tdb.db, jobId))!.status).toBe('paused')
  await setJobPaused(tdb.db, jobId, false)
  expect((await findJob(tdb.db, jobId))!.status).toBe('running')
  await finishJob(tdb.db, jobId, 'completed', computeJobMetrics([]), null)
  await setJobPaused(tdb.db, jobId, true)
  expect((await findJob(tdb.db, jobId))!.status).toBe('completed')
})

it('a job paused before its workflow began is marked begun, and stays paused', async () => {
  const { jobId } = await insertTestJob(tdb.db, 1)
  await setJobPaused(tdb.db, jobId, true)
  await markJobRunning(tdb.db, jobId)
  const job = (await findJob(tdb.db, jobId))!
  expect(job.status).toBe('paused')
  expect(job.started_at).not.toBeNull()
})

it("counts a paused job's runs against its owner's active runs", async () => {
  const owner = randomUUID()
  await tdb.db.insertInto('api_tokens').values({ id: owner, name: 'o', token_sha256: randomUUID() }).execute()
  const job = (n: number) => ({
    job: {
      id: randomUUID(),
      task_name: 't',
      harness: 'harbor',
      agent: 'oracle',
      model: 'm',
      environment: 'docker',
      runs_per_task: n,
      max_parallel: 1,
      timeout_multiplier: 1,
      idempotency_key: null,
      owner_token_id: owner,
    },
    tasks: [{ name: 't', format: 'harbor' as const, sha256: 'd'.repeat(64), run_time_limit_sec: null }],
    secret: null,
  })
  const first = job(3)
  await insertJobWithRuns(tdb.db, first, randomUUID, { activeJobs: 10, activeRuns: 4 })
  await setJobPaused(tdb.db, first.job.id, true)
  await expect(insertJobWithRuns(tdb.db, job(2), randomUUID, { activeJobs: 10, activeRuns: 4 })).rejects.toBeInstanceOf(
    OwnerLimitError,
  )
})
