/**
 * The API's log notifier over a real PostgreSQL: one-shot waits for one run (log streams) and
 * standing subscriptions to many (job pages), woken by the writers' NOTIFY on `run_log`.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogNotifier, type LogNotifier } from '../../src/api/log-notifier.js'
import { finishJob } from '../../src/db/jobs.js'
import { LOG_NOTIFY_CHANNEL } from '../../src/db/run-logs.js'
import { computeJobMetrics } from '../../src/metrics/job-metrics.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
let notifier: LogNotifier
beforeAll(async () => {
  tdb = await createTestDatabase()
  notifier = createLogNotifier(tdb.url, (err) => console.error(err))
  // Listening once a notice gets through.
  for (let tries = 0; tries < 100; tries++) {
    const woke = notifier.wait('probe', 100).then(() => Date.now())
    const sent = Date.now()
    await notify('probe')
    if ((await woke) - sent < 90) break
  }
})
afterAll(async () => {
  await notifier?.close()
  await tdb?.drop()
})

const notify = (runId: string) => sql`select pg_notify(${LOG_NOTIFY_CHANNEL}, ${runId})`.execute(tdb.db)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('the log notifier', () => {
  it('wakes a wait for a run at its notice, and only that run', async () => {
    let woke = false
    const other = notifier.wait('run-b', 5_000).then(() => (woke = true))
    const started = Date.now()
    const wait = notifier.wait('run-a', 5_000)
    await notify('run-a')
    await wait
    expect(Date.now() - started).toBeLessThan(2_000)
    await sleep(100)
    expect(woke).toBe(false)
    await notify('run-b')
    await other
  })

  it('calls a subscription at each notice of any of its runs, until it is ended', async () => {
    const wakes: number[] = []
    const unsubscribe = notifier.subscribe(['run-1', 'run-2', 'run-3'], () => wakes.push(Date.now()))
    await notify('run-2')
    await notify('run-3')
    await notify('run-9')
    await sleep(200)
    expect(wakes).toHaveLength(2)
    await notify('run-1')
    await sleep(200)
    expect(wakes).toHaveLength(3)
    unsubscribe()
    await notify('run-1')
    await sleep(200)
    expect(wakes).toHaveLength(3)
  })
})

describe("a job's end", () => {
  it("is a notice with the job's id, so that its event streams end at once", async () => {
    const { jobId } = await insertTestJob(tdb.db, 1)
    const woken = notifier.wait(jobId, 5_000)
    const started = Date.now()
    await finishJob(tdb.db, jobId, 'completed', computeJobMetrics([]), null)
    await woken
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})
