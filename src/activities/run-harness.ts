/**
 * The harness activity: runs the job's harness (a Harbor trial in the host's warm runner, or
 * `tb run`) for one attempt of one run and follows it to the end.
 *
 * Durability contract:
 * - The harness runs detached on the host (in a runner, or a process of its own). If this worker
 *   dies, it goes on; the retried activity re-attaches to it (never starting a second one) and
 *   continues the log where the last committed cursor left it. One that vanished without an exit
 *   record (its process or runner died) is reported as `lost`.
 * - Heartbeats every poll; a heartbeat timeout is how Temporal notices a dead worker.
 * - On cancellation by the workflow, the harness is asked to stop (a cancel to its runner's trial,
 *   SIGTERM to a process) and gets `cancelGraceMs` to tear down (Harbor stops its containers), then
 *   it is killed. On worker shutdown the harness is left running for the next worker to re-attach.
 * - A run that outlives the job's time limit (the task's own timeouts × the multiplier, plus a
 *   margin) is stopped the same way and reported `overdue`: a harness whose agent does not stop at
 *   its timeout (Terminal-Bench waits for it) must not hold a slot forever.
 */
import { ApplicationFailure, CancelledFailure, Context, heartbeat } from '@temporalio/activity'
import { setTimeout as sleep } from 'node:timers/promises'
import { appendRunnerLineOnce } from '../db/run-logs.js'
import { findRunById, setRunStatus } from '../db/runs.js'
import type { JobRow } from '../db/schema.js'
import { Follower } from '../logs/follower.js'
import { LogTailer } from '../logs/log-tailer.js'
import { AlreadyStartedError, type HarnessProcessState } from '../hosts/execution-host.js'
import { makeScrubber } from '../secrets/scrub.js'
import { importPathRefusal, refusedImportPaths } from '../shared/import-paths.js'
import { countLogLines, whileOpen } from '../observability/metrics.js'
import { ACTIVITY_FAILURES } from '../outcomes/activity-failures.js'
import { activityLogger } from './activity-log.js'
import type { Logger } from '../logger.js'
import { describeLaunch, startHarness, stopHarness } from './harness-start.js'
import { HarnessStop } from './harness-stop.js'
import { loadJobKey, type HostActivityDeps } from './host-deps.js'
import { attemptContext, heartbeating, type AttemptContext, type AttemptRef, type HarnessRun } from './attempt.js'
import { followMode, pollInterval } from './follow-mode.js'
import { harnessStartedAt, probeCheaply, readOverdueMark, writeOverdueMark } from './attempt-records.js'

export type { AttemptRef, HarnessRun } from './attempt.js'

/** Checking the exit record is cheap; asking whether the process still lives is not. */
const LIVENESS_EVERY_MS = 5_000

/**
 * The harness of one attempt, started (after `stage` has put the task in place) unless it already
 * was, and followed to its end.
 */
export function createRunHarness(deps: HostActivityDeps, stage: (ctx: AttemptContext) => Promise<void>) {
  let following = 0
  const counted = async (ref: AttemptRef): Promise<HarnessRun> => {
    following++
    try {
      return await runHarness(deps, stage, ref, () => following)
    } finally {
      following--
    }
  }
  // Counted in active_harnesses for as long as it follows its harness.
  return whileOpen(deps.metrics?.activeHarnesses, { host: deps.host.id }, counted)
}

/** What following the harness of one attempt works with. */
interface Followed {
  deps: HostActivityDeps
  ref: AttemptRef
  attempt: AttemptContext
  log: Logger
  tailer: LogTailer
  follower: Follower
  /** How many harnesses this worker follows now. */
  following: () => number
}

async function runHarness(
  deps: HostActivityDeps,
  stage: (ctx: AttemptContext) => Promise<void>,
  ref: AttemptRef,
  following: () => number,
): Promise<HarnessRun> {
  const ctx = Context.current()
  const attempt = await attemptContext(deps, ref)
  const { job, driver, paths } = attempt
  const log = activityLogger(deps.logger, 'runHarness', ref).child({ harness: job.harness })
  const state = await deps.host.probe(paths.proc)
  if (state.state === 'absent') {
    refuseUnlistedImportPaths(job, deps.allowedImportPaths)
    // Staged afresh while the harness has not started (a retry after a crash mid-copy copies again).
    await heartbeating(() => stage(attempt))
  }
  // From here the harness may be started: `running` tells the workflow that this attempt began.
  await setRunStatus(deps.db, ref.runId, 'running', ref.attempt)
  const key = await loadJobKey(deps, ref.jobId)
  const tailer = attemptTailer(deps, ref, attempt, key)
  await tailer.load()
  const live = liveGauge(deps)
  const follower = new Follower(deps.host, driver, paths, tailer, () => {
    const mode = followMode({
      baseMs: deps.pollIntervalMs,
      following: following(),
      liveUpTo: deps.followLiveUpTo,
      watched: deps.watchedRuns?.has(ref.runId) ?? false,
    })
    live.set(mode.watch)
    return mode
  })
  const followed: Followed = { deps, ref, attempt, log, tailer, follower, following }
  try {
    const started = await startOrAttach(followed, state, key, ctx.info.attempt)
    return await followToTheEnd(followed, started, ctx)
  } finally {
    follower.close()
    live.set(false)
  }
}

function attemptTailer(deps: HostActivityDeps, ref: AttemptRef, attempt: AttemptContext, key: string | null) {
  const { metrics } = deps
  return new LogTailer(
    deps.host,
    deps.db,
    ref.runId,
    ref.attempt,
    makeScrubber([key]),
    attempt.driver.phaseOf,
    deps.logLimits,
    metrics ? (entries) => countLogLines(metrics.logLinesIngested, entries) : undefined,
    deps.logWriter,
  )
}

/** Counted in live_followed_harnesses while it is followed live. */
function liveGauge(deps: HostActivityDeps): { set(now: boolean): void } {
  let live = false
  return {
    set(now) {
      if (now === live) return
      live = now
      deps.metrics?.liveHarnesses[now ? 'inc' : 'dec']({ host: deps.host.id })
    },
  }
}

/** Starts the harness if it has not started yet, else re-attaches to it: the state to follow from. */
async function startOrAttach(
  f: Followed,
  state: HarnessProcessState,
  key: string | null,
  activityAttempt: number,
): Promise<HarnessProcessState> {
  const { deps, ref, log } = f
  const { host, metrics } = deps
  const { job, run, driver, paths } = f.attempt
  if (state.state === 'running') {
    await logOnce(f, `runner:attach:${activityAttempt}`, `re-attached to the running harness on ${host.id}`)
    log.info('re-attached to the running harness')
  }
  if (state.state !== 'absent') return state
  const launch = driver.launch(job, paths, host)
  await logOnce(f, 'runner:start', `starting on ${host.id}: ${describeLaunch(launch)}`)
  try {
    // (A host's first attempt may wait for its runner to import Harbor.)
    await heartbeating(() => startHarness(host, deps.runners, paths, launch, key ? { OPENROUTER_API_KEY: key } : {}))
    log.info('harness started', { agent: job.agent, model: job.model, environment: job.environment })
    // The first attempt's wait is the run's; a retry's would include its deliberate backoff.
    if (ref.attempt === 1)
      metrics?.runQueueLatency.observe({ harness: job.harness }, (Date.now() - run.created_at.getTime()) / 1000)
  } catch (err) {
    if (!(err instanceof AlreadyStartedError)) throw err
  }
  return { state: 'running' }
}

/** Follows the started harness until it ends, stopping it when cancelled or past its time limit. */
async function followToTheEnd(f: Followed, from: HarnessProcessState, ctx: Context): Promise<HarnessRun> {
  const { deps, follower, attempt } = f
  const cancellation = ctx.cancelled.then(
    () => null,
    (err: unknown) => err,
  )
  const limitSec = attempt.task.run_time_limit_sec
  const deadline =
    limitSec === null ? null : ((await harnessStartedAt(deps.host, attempt.paths)) ?? Date.now()) + limitSec * 1000
  const stop = new HarnessStop(deps.cancelGraceMs)
  let state = from
  let lastLiveness = Date.now()
  let lastHeartbeat = 0
  for (;;) {
    if (state.state === 'exited' || state.state === 'lost') return await ended(f, state)
    await follower.read()
    // (The SDK sends a heartbeat at most every few seconds; building one costs, and reads come often.)
    if (Date.now() - lastHeartbeat >= 1_000) {
      heartbeat({ offsets: Object.fromEntries(f.tailer.offsets) })
      lastHeartbeat = Date.now()
    }
    if (stop.reason === null) await waitOrStop(f, stop, cancellation, deadline)
    else {
      await sleep(pollInterval(deps.pollIntervalMs, f.following()))
      if (stop.tick(Date.now()) === 'kill') {
        f.log.warn('the harness did not stop in time: killing it', { grace_ms: deps.cancelGraceMs })
        await stopHarness(deps.host, deps.runners, attempt.paths.proc, 'kill')
      }
    }
    // The full check (a process on the host) finds a harness gone without an exit record; with
    // hundreds followed it runs less often (50 ms per harness, from 5 s), since each costs a process.
    const full = Date.now() - lastLiveness > Math.max(LIVENESS_EVERY_MS, f.following() * 50)
    state = await probeCheaply(deps.host, attempt.paths, full)
    if (full) lastLiveness = Date.now()
    if (stop.settle(state.state) === 'done') return await endCancelled(f)
  }
}

/**
 * Waits for the harness to write more, for a cancellation, or for its time limit; asks it to stop
 * when cancelled or past the limit. Any other failure (worker shutdown, a heartbeat timeout) leaves
 * the harness running for whoever comes next.
 */
async function waitOrStop(
  f: Followed,
  stop: HarnessStop,
  cancellation: Promise<unknown>,
  deadline: number | null,
): Promise<void> {
  const failure = await Promise.race([f.follower.next().then(() => null), cancellation])
  if (failure) {
    if (!(failure instanceof CancelledFailure) || failure.message !== 'CANCELLED') {
      f.log.info('leaving the harness running for the next worker', { reason: (failure as Error).message })
      throw failure
    }
    if (stop.cancel(Date.now()) === 'term') await stopCancelled(f)
  } else if (deadline !== null && Date.now() > deadline) {
    if (stop.overdue(Date.now()) === 'term') await stopOverdue(f)
  }
}

async function stopCancelled(f: Followed): Promise<void> {
  f.log.info('cancelled: stopping the harness')
  await logOnce(f, 'runner:cancel', 'cancelled: stopping the harness')
  await stopHarness(f.deps.host, f.deps.runners, f.attempt.paths.proc, 'term')
}

async function stopOverdue(f: Followed): Promise<void> {
  const { deps, ref } = f
  const { task, paths } = f.attempt
  const phase = (await findRunById(deps.db, ref.runId))?.phase ?? null
  f.log.warn('past its time limit: stopping the harness', { limit_s: task.run_time_limit_sec, phase })
  await writeOverdueMark(deps.host, paths, phase)
  await logOnce(
    f,
    'runner:overdue',
    `the run passed its time limit of ${task.run_time_limit_sec} s: stopping the harness`,
  )
  await stopHarness(deps.host, deps.runners, paths.proc, 'term')
}

/** The harness ended (exited, or lost): its last lines read, and how it ended. */
async function ended(
  f: Followed,
  state: Extract<HarnessProcessState, { state: 'exited' | 'lost' }>,
): Promise<HarnessRun> {
  await f.follower.read(true)
  const overdue = await readOverdueMark(f.deps.host, f.attempt.paths)
  f.log.info('harness ended', {
    state: state.state,
    exit_code: state.state === 'exited' ? state.exitCode : null,
    duration_s: state.state === 'exited' ? seconds(state.startedAtMs, state.finishedAtMs) : null,
    overdue: overdue !== null,
  })
  return state.state === 'exited'
    ? {
        state: 'exited',
        exitCode: state.exitCode,
        startedAtMs: state.startedAtMs,
        finishedAtMs: state.finishedAtMs,
        overdue,
      }
    : { state: 'lost', exitCode: null, startedAtMs: null, finishedAtMs: null, overdue }
}

/** The harness stopped after a cancellation: its last lines read, counted, and the attempt cancelled. */
async function endCancelled(f: Followed): Promise<never> {
  const { host, metrics } = f.deps
  await f.follower.read(true)
  const labels = { harness: f.attempt.job.harness, outcome: 'cancelled', error_class: 'none' }
  metrics?.attempts.inc(labels)
  const started = await harnessStartedAt(host, f.attempt.paths)
  if (started !== null) metrics?.harnessDuration.observe(labels, (Date.now() - started) / 1000)
  f.log.info('harness stopped after cancellation')
  throw new CancelledFailure('CANCELLED')
}

/** Our own log line, written exactly once however often the activity is retried. */
async function logOnce(f: Followed, marker: string, line: string): Promise<void> {
  await appendRunnerLineOnce(f.deps.db, f.ref.runId, f.ref.attempt, marker, line)
}

/**
 * The harness imports an agent or environment named by import path in the worker's harness process:
 * one that this worker does not allow (ALLOWED_IMPORT_PATHS changed since the upload, or the API and
 * the workers disagree) is never started, and the attempt ends at once.
 */
function refuseUnlistedImportPaths(job: JobRow, allowed: readonly string[]): void {
  const [refused] = refusedImportPaths(job, allowed)
  if (refused)
    throw ApplicationFailure.nonRetryable(
      importPathRefusal(refused, job[refused], 'this worker'),
      ACTIVITY_FAILURES.importPathNotAllowed,
    )
}

function seconds(fromMs: number | null, toMs: number | null): number | null {
  return fromMs === null || toMs === null ? null : (toMs - fromMs) / 1000
}
