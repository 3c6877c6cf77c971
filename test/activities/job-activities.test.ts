/**
 * The job's bookkeeping activities (createJobActivities) on a real database, called as the
 * workflows call them: each attempt recorded, the run completed with its last; a job whose runs all
 * ended in infra or harness errors failed; a cancelled run's slot freed, and the runs a cancelled job
 * never started recorded cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobActivities } from '../../src/activities/job-activities.js'
import { announceHost } from '../../src/db/hosts.js'
import { errorOutcome, type AttemptOutcome } from '../../src/shared/outcome.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'
import { testLogger } from '../helpers/test-log.js'

let tdb: TestDatabase
let activities: ReturnType<typeof createJobActivities>
beforeAll(async () => {
  tdb = await createTestDatabase()
  activities = createJobActivities({ db: tdb.db, taskQueue: 'q', logger: testLogger() })
  await announceHost(tdb.db, { id: 'h', kind: 'local', address: '/w/h', slots: 10, healthy: true, problem: null })
})
afterAll(() => tdb?.drop())

const passedOutcome: AttemptOutcome = {
  ...errorOutcome('infra', ''),
  outcome: 'passed' as const,
  error_class: null,
  reward: 1,
}

/** Places attempt `attempt` of run `runNumber` and records how it came out, as RunWorkflow does. */
async function attempt(jobId: string, runNumber: number, n: number, outcome = passedOutcome, last = true) {
  const placed = await activities.tryPlaceAttempt({ jobId, runNumber, attempt: n, avoid: [] })
  expect(placed).toMatchObject({ hostId: 'h', hostTaskQueue: 'q.host.h' })
  await activities.recordAttempt({ runId: placed!.runId, attempt: n, outcome, harness: null, completeRun: last })
}

const jobRow = (id: string) => tdb.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const runRows = (jobId: string) =>
  tdb.db.selectFrom('runs').selectAll().where('job_id', '=', jobId).orderBy('run_number').execute()
const openAttempts = (runId: string) =>
  tdb.db
    .selectFrom('run_attempts')
    .select('attempt')
    .where('run_id', '=', runId)
    .where('finished_at', 'is', null)
    .execute()

describe('finalizeJob', () => {
  it('fails a job whose every run ended in an infra or harness error, naming the first error', async () => {
    const { jobId } = await insertTestJob(tdb.db, 2)
    await attempt(jobId, 1, 1, errorOutcome('harness', 'the harness crashed'), false)
    await attempt(jobId, 1, 2, errorOutcome('infra', 'simulated host failure: the sandbox could not start'))
    await attempt(jobId, 2, 1, errorOutcome('harness', 'the harness crashed again'))

    expect(await activities.finalizeJob({ jobId })).toMatchObject({ status: 'failed' })
    const job = await jobRow(jobId)
    expect(job.status).toBe('failed')
    expect(job.error).toBe(
      'no run could be carried out; first error: simulated host failure: the sandbox could not start',
    )
    const [first, second] = await runRows(jobId)
    expect(first).toMatchObject({ status: 'completed', outcome: 'error', error_class: 'infra', attempts: 2 })
    expect(second).toMatchObject({ status: 'completed', outcome: 'error', error_class: 'harness', attempts: 1 })
    const attempts = await tdb.db.selectFrom('run_attempts').selectAll().where('run_id', '=', first!.id).execute()
    expect(attempts.map((a) => [a.attempt, a.error_class])).toEqual([
      [1, 'harness'],
      [2, 'infra'],
    ])
  })

  it('completes a job of which one run could be carried out', async () => {
    const { jobId } = await insertTestJob(tdb.db, 2)
    await attempt(jobId, 1, 1, errorOutcome('infra', 'simulated host failure'))
    await attempt(jobId, 2, 1)

    expect(await activities.finalizeJob({ jobId })).toMatchObject({ status: 'completed' })
    expect(await jobRow(jobId)).toMatchObject({ status: 'completed', error: null })
  })
})

describe('cancellation', () => {
  it("frees a cancelled run's slot, and records the runs a cancelled job never started as cancelled", async () => {
    const { jobId, runIds } = await insertTestJob(tdb.db, 2)
    await activities.tryPlaceAttempt({ jobId, runNumber: 1, attempt: 1, avoid: [] })
    expect(await openAttempts(runIds[0]!)).toHaveLength(1)

    await activities.cancelRun({ jobId, runNumber: 1, attempt: 1 })
    expect(await openAttempts(runIds[0]!)).toEqual([])
    expect(await activities.finalizeJob({ jobId, cancelled: true })).toMatchObject({ status: 'cancelled' })

    expect(await jobRow(jobId)).toMatchObject({ status: 'cancelled' })
    expect((await runRows(jobId)).map((r) => [r.run_number, r.status, r.outcome, r.attempts])).toEqual([
      [1, 'cancelled', null, 1],
      [2, 'cancelled', null, 0],
    ])
  })
})
