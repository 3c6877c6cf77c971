/**
 * Faults survived, with real components: the Temporal server restarted mid-job (same SQLite file),
 * PostgreSQL restarted mid-job (fast shutdown), the API killed (SIGKILL) while a client follows a
 * run's log stream, and a full disk in the data dir during an upload. Every job completes, every run
 * passes with its harness started once and its log numbered 1..n without gap or duplicate, and a
 * rejected upload leaves nothing behind.
 *
 * A worker killed (SIGKILL) on the local host is covered by worker-crash.test.ts.
 *
 * The servers restarted here are this file's own (test/helpers/own-servers.ts): other test files
 * share the suite's servers at the same time.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, statfs } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLogNotifier } from '../../src/api/log-notifier.js'
import { LOG_NOTIFY_CHANNEL } from '../../src/db/run-logs.js'
import { isTerminalJobStatus } from '../../src/shared/status.js'
import { followSse, readSse, upload, waitForJob, type SseEvent } from '../helpers/api-client.js'
import { startOwnPostgres, startOwnTemporal, type OwnServer } from '../helpers/own-servers.js'
import { freePort } from '../helpers/ports.js'
import { createTestApp, uploadTo, type TestApp } from '../helpers/api-app.js'
import { record } from '../helpers/reliability.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { waitForSlowStep } from '../helpers/slow-steps.js'
import { buildZip, harborTask, slowTask } from '../helpers/task-zips.js'

const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle' }
/** Long enough that a fault injected at step 2 lands mid-harness, short enough to keep the file quick. */
const STEPS = 8

let postgres: OwnServer
let temporal: OwnServer
let service: TestService
beforeAll(async () => {
  ;[postgres, temporal] = await Promise.all([startOwnPostgres(), startOwnTemporal()])
  service = await startTestService({ databaseUrl: postgres.address, temporalAddress: temporal.address })
})
afterAll(async () => {
  await service?.stop()
  await temporal?.destroy()
  await postgres?.destroy()
})

it('completes a job whose Temporal server is restarted mid-harness, each harness started once', async () => {
  await asFault('Temporal server restarted mid-job', async (fault) => {
    const jobId = await uploadSlowJob(service.api.url, 2)
    await waitForStep(jobId, 2, 2)
    await temporal.stop()
    await sleep(2_000)
    await temporal.start()

    const { ok } = await checkJob(fault, jobId, 2)
    expect(ok).toBe(true)
  })
}, 150_000)

it('completes a job whose PostgreSQL is restarted mid-harness; API streams and the log notifier ride it out', async () => {
  await asFault('PostgreSQL restarted mid-job', async (fault) => {
    // Our own notifier on the same server: it must LISTEN again after the restart.
    const notifier = createLogNotifier(postgres.address)
    try {
      const jobId = await uploadSlowJob(service.api.url, 2)
      // A client follows run 1 through the outage (reconnecting if the API drops its stream).
      const following = followSse(`${service.api.url}/api/jobs/${jobId}/runs/1/logs/stream`, { timeoutMs: 140_000 })
      following.catch(() => undefined) // awaited below; not unhandled if the test fails first
      await waitForStep(jobId, 2, 2)
      expect(await notifiedWithin(notifier, jobId, 1_000)).toBe(true)

      await postgres.stop()
      await sleep(2_000)
      await postgres.start()
      const relistenedAt = Date.now()
      let relistened = false
      while (!relistened && Date.now() - relistenedAt < 15_000) relistened = await notifiedWithin(notifier, jobId, 500)
      expect(relistened, 'the log notifier listens again after the restart').toBe(true)

      const followed = summarize((await following).events)
      const streamOk = followed.ended && followed.gaps === 0 && followed.duplicates === 0 && followed.ordered
      const { ok } = await checkJob(fault, jobId, 2, {
        ok: relistened && streamOk,
        lost: followed.gaps,
        duplicated: followed.duplicates,
      })
      expect(followed, 'the stream followed through the outage').toMatchObject({
        ended: true,
        gaps: 0,
        duplicates: 0,
        ordered: true,
      })
      expect(ok).toBe(true)
    } finally {
      await notifier.close()
    }
  })
}, 150_000)

it('continues a log stream without gap or duplicate after its API process is SIGKILLed', async () => {
  await asFault('API SIGKILLed while a client follows an SSE stream', async (fault) => {
    const port = await freePort()
    let api = service.spawnApi(port)
    await api.ready()
    const jobId = await uploadSlowJob(api.url, 1)

    let killed = false
    const followed = await followSse(`${api.url}/api/jobs/${jobId}/runs/1/logs/stream`, {
      timeoutMs: 120_000,
      onEvent: async (e) => {
        if (killed || e.event !== 'log' || e.data.line !== `slow step 2/${STEPS}`) return
        killed = true
        api.child.kill('SIGKILL')
        const dead = await api.child
        if (dead.signal !== 'SIGKILL')
          throw new Error(`the API ended with ${dead.signal ?? dead.exitCode}, not SIGKILL`)
        // A new API on the same address; the client reconnects with Last-Event-ID once it answers.
        api = service.spawnApi(port)
      },
    })
    expect(killed).toBe(true)
    expect(followed.connections).toBeGreaterThanOrEqual(2)

    const job = await waitForJob(api.url, jobId, (j) => j.status === 'completed', 60_000)
    const run = {
      ...summarize(followed.events),
      passed: job.runs[0].outcome === 'passed',
      attempts: job.runs[0].attempts,
    }
    // The whole log read afresh: the followed stream saw exactly it.
    const whole = await readSse(`${api.url}/api/jobs/${jobId}/runs/1/logs/stream`)
    const sameAsWhole = JSON.stringify(ids(whole.events)) === JSON.stringify(ids(followed.events))
    const runOk = runPassed(run) && sameAsWhole
    await record({ row: 'run', what: `${fault}: run 1`, ok: runOk })
    await recordFault({
      what: fault,
      ok: runOk && job.status === 'completed',
      lost: (run.ended ? 0 : 1) + run.gaps,
      duplicated: Math.max(0, run.starts - 1) + run.duplicates,
    })
    expect(run).toMatchObject({ ended: true, passed: true, attempts: 1, gaps: 0, duplicates: 0, ordered: true })
    expect(run).toMatchObject({ starts: 1, stepsInOrder: true })
    expect(sameAsWhole).toBe(true)
    expect(followed.events.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed', outcome: 'passed' } })
  })
}, 150_000)

it('answers 507 to an upload that fills the data dir, and leaves nothing behind', async () => {
  const fault = 'disk full in the data dir during upload'
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hr-full-disk-'))
  // A small tmpfs as the whole data dir: the upload's temp file, its extraction and the task store.
  const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dataDir], { reject: false })
  if (mounted.exitCode !== 0) {
    await rm(dataDir, { recursive: true, force: true })
    // Not a skip: a fault that cannot be injected is a fault not tested.
    throw new Error(`cannot mount a tmpfs for the full-disk test (needs root with CAP_SYS_ADMIN): ${mounted.stderr}`)
  }
  let disk = null as TestApp | null // made in the callback, closed below in any case
  try {
    await asFault(fault, async () => {
      disk = await createTestApp({}, { dataDir })
      const cases = [
        // The archive itself is larger than the free space: its write fails.
        {
          name: 'archive larger than the disk',
          file: await buildZip({ ...harborTask(), 'data.bin': { data: randomBytes(6 << 20) } }),
        },
        // A small archive (under 1 MB) whose extraction (5 MB) is larger than the free space.
        {
          name: 'extraction larger than the disk',
          file: await buildZip({ ...harborTask(), ...compressibleFiles(10) }),
        },
      ]
      const answers = []
      for (const c of cases) {
        // An upload the disk stopped must still be answered.
        const unanswered = sleep(
          20_000,
          { status: 0, body: { error: { code: 'no answer within 20 s' } } },
          { ref: false },
        )
        const res = await Promise.race([uploadTo(disk.app, c.file, { ...FIELDS, n_runs: '1' }), unanswered])
        answers.push({ name: c.name, status: res.status, code: res.body?.error?.code })
      }

      const leftovers = await leftoversOf(disk, dataDir)
      const ok =
        answers.every((a) => a.status === 507 && a.code === 'insufficient_storage') &&
        Object.values(leftovers).every((n) => n === 0)
      await recordFault({ what: fault, ok, lost: 0, duplicated: 0 })
      expect(answers).toEqual(cases.map((c) => ({ name: c.name, status: 507, code: 'insufficient_storage' })))
      expect(leftovers).toEqual({ uploadFiles: 0, storedTasks: 0, bytesInUse: 0, jobs: 0, runs: 0, workflows: 0 })
    })
  } finally {
    await disk?.close()
    await execa('umount', [dataDir], { reject: false })
    await rm(dataDir, { recursive: true, force: true })
  }
}, 90_000)

const recorded = new Set<string>()

async function recordFault(entry: { what: string; ok: boolean; lost: number; duplicated: number }) {
  recorded.add(entry.what)
  await record({ row: 'fault', ...entry })
}

/** Runs a fault's test; if it throws before the fault is recorded (a timeout, a crash), records it as not survived. */
async function asFault(fault: string, body: (fault: string) => Promise<void>): Promise<void> {
  try {
    await body(fault)
  } catch (err) {
    if (!recorded.has(fault)) await record({ row: 'fault', what: fault, ok: false })
    throw err
  }
}

/**
 * `count` files of 512 KiB of text with one bit of entropy per byte: they deflate about 7 times, an
 * ordinary ratio (a zip bomb check rejects far higher ones), and each is small on its own.
 */
function compressibleFiles(count: number): Record<string, { data: Buffer }> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => {
      const data = randomBytes(512 * 1024)
      for (let j = 0; j < data.length; j++) data[j] = 0x61 + (data[j]! & 1)
      return [`data/part-${i}.txt`, { data }]
    }),
  )
}

async function uploadSlowJob(apiUrl: string, nRuns: number): Promise<string> {
  const { status, body } = await upload(apiUrl, {
    file: await slowTask(STEPS),
    filename: 'slow.zip',
    fields: { ...FIELDS, n_runs: String(nRuns) },
  })
  expect(status, JSON.stringify(body)).toBe(201)
  return body.job_id
}

/** Waits until `nRuns` runs of the job have logged slow step `step`: their harnesses are mid-agent. */
function waitForStep(jobId: string, step: number, nRuns: number): Promise<void> {
  return waitForSlowStep(service.db.db, jobId, step, STEPS, nRuns)
}

/**
 * Waits for the job to end, reads each run's whole log, records the fault and its runs, and says
 * whether all came through: completed, passed, one attempt, one harness start, ids 1..n.
 */
async function checkJob(
  fault: string,
  jobId: string,
  nRuns: number,
  /** What else the test saw of this fault (e.g. a stream followed through it). */
  also = { ok: true, lost: 0, duplicated: 0 },
): Promise<{ ok: boolean }> {
  const job = await waitForJob(service.api.url, jobId, (j) => isTerminalJobStatus(j.status))
  let lost = also.lost
  let duplicated = also.duplicated
  const runs = []
  for (let n = 1; n <= nRuns; n++) {
    const row = job.runs.find((r: any) => r.run_number === n)
    const log = await readSse(`${service.api.url}/api/jobs/${jobId}/runs/${n}/logs/stream`, { timeoutMs: 30_000 })
    const run = { n, ...summarize(log.events), passed: row?.outcome === 'passed', attempts: row?.attempts }
    runs.push(run)
    lost += (run.ended ? 0 : 1) + run.gaps
    duplicated += Math.max(0, run.starts - 1) + run.duplicates
    await record({ row: 'run', what: `${fault}: run ${n}`, ok: runPassed(run) })
  }
  const ok = also.ok && job.status === 'completed' && runs.every(runPassed)
  await recordFault({ what: fault, ok, lost, duplicated })
  for (const run of runs) {
    expect(run, `run ${run.n}`).toMatchObject({ ended: true, passed: true, attempts: 1, starts: 1 })
    expect(run, `run ${run.n}`).toMatchObject({ gaps: 0, duplicates: 0, ordered: true, stepsInOrder: true })
  }
  expect(job.status).toBe('completed')
  return { ok }
}

interface RunSummary {
  ended: boolean
  passed: boolean
  attempts: number
  gaps: number
  duplicates: number
  ordered: boolean
  starts: number
  stepsInOrder: boolean
}

function runPassed(run: RunSummary): boolean {
  return (
    run.ended &&
    run.passed &&
    run.attempts === 1 &&
    run.gaps === 0 &&
    run.duplicates === 0 &&
    run.ordered &&
    run.starts === 1 &&
    run.stepsInOrder
  )
}

function ids(events: SseEvent[]): number[] {
  return events.filter((e) => e.id !== null).map((e) => Number(e.id))
}

/** What a run's events show: ended, ids against 1..n (n from the end event), harness starts, agent steps. */
function summarize(events: SseEvent[]): Omit<RunSummary, 'passed' | 'attempts'> {
  const end = events.find((e) => e.event === 'end')
  const seen = ids(events)
  const unique = new Set(seen)
  const n = Number(end?.data.log_lines ?? Math.max(0, ...seen))
  let gaps = 0
  for (let i = 1; i <= n; i++) if (!unique.has(i)) gaps++
  const logs = events.filter((e) => e.event === 'log')
  const steps = logs
    .filter((e) => e.data.stream === 'agent' && String(e.data.line).startsWith('slow step'))
    .map((e) => e.data.line)
  return {
    ended: end !== undefined,
    gaps,
    duplicates: seen.length - unique.size,
    ordered: seen.every((id, i) => id === i + 1),
    starts: logs.filter((e) => e.data.stream === 'runner' && String(e.data.line).startsWith('starting on ')).length,
    stepsInOrder:
      JSON.stringify(steps) === JSON.stringify(Array.from({ length: STEPS }, (_, i) => `slow step ${i + 1}/${STEPS}`)),
  }
}

/** Whether a NOTIFY on the log channel reaches `notifier` within `ms`. */
async function notifiedWithin(notifier: ReturnType<typeof createLogNotifier>, key: string, ms: number) {
  const client = new pg.Client({ connectionString: postgres.address })
  client.on('error', () => {})
  try {
    await client.connect()
    const started = Date.now()
    const woken = notifier.wait(key, ms)
    await client.query('select pg_notify($1, $2)', [LOG_NOTIFY_CHANNEL, key])
    await woken
    return Date.now() - started < ms
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** Everything a rejected upload might have left: temp files, stored tasks, disk space, rows, workflows started. */
async function leftoversOf(disk: TestApp, dataDir: string) {
  const entries = async (dir: string) => (await readdir(dir).catch(() => [])).length
  const fsStats = await statfs(dataDir)
  const count = async (table: 'jobs' | 'runs') =>
    (
      await disk.db.db
        .selectFrom(table)
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow()
    ).n
  return {
    uploadFiles: await entries(path.join(dataDir, 'uploads')),
    storedTasks: await entries(path.join(dataDir, 'tasks')),
    // Directories themselves take no blocks on tmpfs: any block in use is file content left behind.
    bytesInUse: (fsStats.blocks - fsStats.bfree) * fsStats.bsize,
    jobs: await count('jobs'),
    runs: await count('runs'),
    workflows: disk.started.length,
  }
}
