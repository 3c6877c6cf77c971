/**
 * The harness activity (createRunHarness, and runAttempt around it) in Temporal's
 * MockActivityEnvironment, over an execution host in memory (test/helpers/fake-host.ts) and a real
 * database: cancelled, it asks the harness to stop, waits the grace and kills it after; a heartbeat
 * timeout or a worker shutdown leaves the harness running; a retry re-attaches rather than starting a
 * second; a run past its time limit is stopped and blamed on the phase it was in.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { CancelledFailure } from '@temporalio/common'
import { MockActivityEnvironment } from '@temporalio/testing'
import { DefaultLogger } from '@temporalio/worker'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHostActivities } from '../../src/activities/host-activities.js'
import type { HostActivityDeps } from '../../src/activities/host-deps.js'
import type { AttemptRef } from '../../src/activities/attempt.js'
import { createRunHarness } from '../../src/activities/run-harness.js'
import type { HarnessDriver, HarnessLaunch } from '../../src/harness/driver.js'
import type { TrialAttemptRequest } from '../../src/harness/harbor/command.js'
import { eventually } from '../helpers/eventually.js'
import { FakeHost } from '../helpers/fake-host.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'
import { testLogger } from '../helpers/test-log.js'

const TASK_SHA = 'a'.repeat(64)

let tdb: TestDatabase
let dir: string
beforeAll(async () => {
  tdb = await createTestDatabase()
  dir = await mkdtemp(path.join(os.tmpdir(), 'hr-run-harness-'))
  await mkdir(path.join(dir, 'tasks', TASK_SHA), { recursive: true })
})
afterAll(async () => {
  await tdb?.drop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** A harness that runs as a process of its own (`tb run`), or as a trial in the host's runner (Harbor). */
type Kind = 'process' | 'trial'

const driver = (kind: Kind): HarnessDriver => ({
  paths: (_ids, _job, _task, attemptDir) => ({
    root: attemptDir,
    task: `${attemptDir}/task`,
    proc: `${attemptDir}/proc`,
    output: `${attemptDir}/output`,
    runDir: `${attemptDir}/output/job`,
  }),
  launch: (_job, paths): HarnessLaunch =>
    kind === 'process'
      ? { kind: 'process', argv: ['supervise', 'tb', 'run'], env: {} }
      : { kind: 'trial', attempt: { proc: paths.proc } as TrialAttemptRequest },
  logSources: async () => [],
  phaseOf: () => null,
  readOutcome: async () => {
    throw new Error('not reached: these attempts are cancelled or overdue')
  },
})

/** A job of one run, and the activities' dependencies over `host`. */
async function attemptOn(host: FakeHost, kind: Kind, cancelGraceMs = 10_000) {
  const { jobId, runIds } = await insertTestJob(tdb.db, 1, { taskSha256: TASK_SHA })
  const deps: HostActivityDeps = {
    db: tdb.db,
    host,
    drivers: { harbor: driver(kind) },
    runners: kind === 'trial' ? host.runnerPool() : null,
    taskStoreDir: path.join(dir, 'tasks'),
    allowedImportPaths: [],
    artifactsDir: path.join(dir, 'artifacts'),
    artifactLimits: { maxBytes: 1 << 20, maxFiles: 100 },
    masterKey: randomBytes(32),
    keepHostFiles: false,
    logLimits: { maxBytes: null, maxLineChars: 10_000 },
    pollIntervalMs: 10,
    followLiveUpTo: 10,
    cancelGraceMs,
    logger: testLogger('info', { component: 'run-harness-test' }),
  }
  const ref: AttemptRef = { jobId, runId: runIds[0]!, runNumber: 1, attempt: 1 }
  return { deps, ref }
}

function activityEnvironment(): MockActivityEnvironment {
  const log = testLogger('info', { component: 'temporal-sdk' })
  return new MockActivityEnvironment(undefined, {
    logger: new DefaultLogger('INFO', (entry) => log.info(entry.message, entry.meta ?? {})),
  })
}

/** Runs the harness activity of `ref` until its harness runs; `ended` settles with how the activity ended. */
async function startHarnessActivity(mock: MockActivityEnvironment, deps: HostActivityDeps, ref: AttemptRef) {
  const runHarness = createRunHarness(deps, async () => {})
  const ended = mock.run(runHarness, ref).then(
    (value) => ({ value, error: null }),
    (error: unknown) => ({ value: null, error }),
  )
  const host = deps.host as FakeHost
  await eventually(
    () => host.state === 'running' && host.files.has(`${host.proc}/started`),
    (running) => running,
    { timeoutMs: 30_000 },
  )
  return { ended }
}

async function runnerLines(runId: string): Promise<string[]> {
  const rows = await tdb.db
    .selectFrom('run_log_lines')
    .select('line')
    .where('run_id', '=', runId)
    .where('stream', '=', 'runner')
    .orderBy('seq')
    .execute()
  return rows.map((r) => r.line)
}

describe('cancelled by its workflow', () => {
  it('asks the harness to stop (SIGTERM to its process) and ends cancelled once it has', async () => {
    const host = new FakeHost()
    const { deps, ref } = await attemptOn(host, 'process')
    const mock = activityEnvironment()
    const { ended } = await startHarnessActivity(mock, deps, ref)
    mock.cancel('CANCELLED')

    const { error } = await ended
    expect(error).toBeInstanceOf(CancelledFailure)
    expect((error as CancelledFailure).message).toBe('CANCELLED')
    expect(host.stops.map(({ how, group }) => ({ how, group }))).toEqual([{ how: 'SIGTERM', group: false }])
    expect(host.state).toBe('exited')
    expect(await runnerLines(ref.runId)).toContain('cancelled: stopping the harness')
  })

  it('kills the harness (its process group) when it has not stopped after the grace', async () => {
    const host = new FakeHost()
    host.onStop = 'ignore'
    const { deps, ref } = await attemptOn(host, 'process', 300)
    const mock = activityEnvironment()
    const { ended } = await startHarnessActivity(mock, deps, ref)
    const cancelledAt = Date.now()
    mock.cancel('CANCELLED')

    const { error } = await ended
    expect(error).toBeInstanceOf(CancelledFailure)
    expect(host.stops.map(({ how, group }) => ({ how, group }))).toEqual([
      { how: 'SIGTERM', group: false },
      { how: 'SIGKILL', group: true },
    ])
    expect(host.stops[1]!.at - cancelledAt).toBeGreaterThan(300)
    expect(host.state).toBe('exited')
  })

  it('asks the runner to cancel a trial, and to give it up after the grace', async () => {
    const host = new FakeHost()
    host.onStop = 'ignore'
    const { deps, ref } = await attemptOn(host, 'trial', 300)
    const mock = activityEnvironment()
    const { ended } = await startHarnessActivity(mock, deps, ref)
    const cancelledAt = Date.now()
    mock.cancel('CANCELLED')

    const { error } = await ended
    expect(error).toBeInstanceOf(CancelledFailure)
    expect(host.stops.map((s) => s.how)).toEqual(['cancel', 'kill'])
    expect(host.stops[1]!.at - cancelledAt).toBeGreaterThan(300)
  })
})

describe('cancelled because its worker is gone or going', () => {
  for (const reason of ['TIMED_OUT', 'WORKER_SHUTDOWN'] as const) {
    it(`${reason}: leaves the harness running for the next worker`, async () => {
      const host = new FakeHost()
      const { deps, ref } = await attemptOn(host, 'process', 100)
      const mock = activityEnvironment()
      const { ended } = await startHarnessActivity(mock, deps, ref)
      mock.cancel(reason)

      const { error } = await ended
      expect(error).toBeInstanceOf(CancelledFailure)
      expect((error as CancelledFailure).message).toBe(reason)
      // Past the grace: still nothing sent to it.
      await new Promise((r) => setTimeout(r, 300))
      expect(host.stops).toEqual([])
      expect(host.state).toBe('running')
      expect(await runnerLines(ref.runId)).not.toContain('cancelled: stopping the harness')
    })
  }

  it('retried, re-attaches to the harness that runs on and follows it to its end without starting another', async () => {
    const host = new FakeHost()
    const { deps, ref } = await attemptOn(host, 'process')
    host.adopt(`runs/${ref.jobId}/run-1/attempt-1/proc`)
    const mock = activityEnvironment()
    const { ended } = await startHarnessActivity(mock, deps, ref)
    const lines = await eventually(
      () => runnerLines(ref.runId),
      (seen) => seen.length > 0,
      { timeoutMs: 30_000 },
    )
    expect(lines).toEqual(['re-attached to the running harness on fake'])
    host.exit(0)

    const { value, error } = await ended
    expect(error).toBeNull()
    expect(value).toMatchObject({ state: 'exited', exitCode: 0, overdue: null })
    expect(host.starts).toBe(0)
  })
})

describe('past the time limit', () => {
  for (const [phase, errorClass] of [
    ['agent', 'agent'],
    ['verifier', 'infra'],
  ] as const) {
    it(`stops the harness during ${phase} and records the attempt as error/${errorClass}`, async () => {
      const host = new FakeHost()
      const { deps, ref } = await attemptOn(host, 'process')
      await tdb.db.updateTable('job_tasks').set({ run_time_limit_sec: 1 }).where('job_id', '=', ref.jobId).execute()
      // The harness's phase events move the run into `phase` as it starts.
      host.onStart = async () => {
        await tdb.db.updateTable('runs').set({ phase }).where('id', '=', ref.runId).execute()
      }
      const started = Date.now()
      const { runAttempt } = createHostActivities(deps)
      const { outcome, harness } = (await activityEnvironment().run(runAttempt, ref)) as Awaited<
        ReturnType<typeof runAttempt>
      >

      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000)
      expect(host.stops.map((s) => s.how)).toEqual(['SIGTERM'])
      expect(harness).toMatchObject({ state: 'exited', overdue: { phase } })
      expect(outcome).toMatchObject({ outcome: 'error', error_class: errorClass })
      expect(outcome.error_message).toMatch(new RegExp(`went past its time limit of 1 s .* during ${phase}`))
      expect(await runnerLines(ref.runId)).toContain('the run passed its time limit of 1 s: stopping the harness')
    })
  }
})
