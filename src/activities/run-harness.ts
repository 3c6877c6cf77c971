/**
 * The harness activity: runs `harbor run` for one attempt of one run and follows it to the end.
 *
 * Durability contract:
 * - The harness runs detached on the host. If this worker dies, the process goes on; the retried
 *   activity re-attaches to it (never starting a second one) and continues the log where the last
 *   committed offset left it. A process that vanished without an exit record is reported as `lost`.
 * - Heartbeats every poll; a heartbeat timeout is how Temporal notices a dead worker.
 * - On cancellation by the workflow, the harness gets SIGTERM and `cancelGraceMs` to tear down
 *   (Harbor stops its containers), then its process group gets SIGKILL. On worker shutdown the
 *   harness is left running for the next worker to re-attach.
 */
import { ApplicationFailure, Context, CancelledFailure, heartbeat } from '@temporalio/activity'
import { setTimeout as sleep } from 'node:timers/promises'
import path from 'node:path/posix'
import { findRunWithJob, setRunStatus } from '../db/runs.js'
import { appendRunLog, type LogEntry } from '../db/run-logs.js'
import { AlreadyStartedError, type HarnessProcessState } from '../hosts/execution-host.js'
import {
  attemptLayout,
  harborRunArgv,
  PHASE_EVENTS_FILE,
  PHASE_OF_EVENT,
  type AttemptLayout,
} from '../harness/harbor-command.js'
import { LogTailer, type LogSource } from '../harness/log-tailer.js'
import { makeScrubber } from '../secrets/scrub.js'
import { harnessJobName, hostAttemptDir, harnessModel } from '../shared/ids.js'
import { loadJobKey, type HostActivityDeps } from './host-deps.js'

export interface AttemptRef {
  jobId: string
  runId: string
  runNumber: number
  attempt: number
}

export interface HarnessRun {
  state: 'exited' | 'lost'
  exitCode: number | null
  startedAtMs: number | null
  finishedAtMs: number | null
}

/** Checking the exit record is cheap; asking whether the process still lives is not. */
const LIVENESS_EVERY_MS = 5_000

/** The phase the newest phase event among `entries` puts the run in, if any. */
function latestPhase(entries: readonly LogEntry[]): string | null {
  for (const entry of [...entries].reverse()) {
    if (entry.stream !== 'phase') continue
    try {
      const phase = PHASE_OF_EVENT[(JSON.parse(entry.line) as { event?: string }).event ?? '']
      if (phase) return phase
    } catch {
      // not an event line: ignore
    }
  }
  return null
}

export function layoutOf(ref: AttemptRef): AttemptLayout {
  return attemptLayout(
    hostAttemptDir(ref.jobId, ref.runNumber, ref.attempt),
    harnessJobName(ref.jobId, ref.runNumber, ref.attempt),
  )
}

export function createRunHarness(deps: HostActivityDeps) {
  const { db, host } = deps

  return async function runHarness(ref: AttemptRef): Promise<HarnessRun> {
    const ctx = Context.current()
    const found = await findRunWithJob(db, ref.jobId, ref.runNumber)
    if (!found) throw ApplicationFailure.nonRetryable(`run ${ref.runNumber} of job ${ref.jobId} does not exist`, 'RunNotFound')
    const { job } = found
    await setRunStatus(db, ref.runId, 'running', ref.attempt)
    const layout = layoutOf(ref)
    const key = await loadJobKey(deps, ref.jobId)
    const tailer = new LogTailer(host, db, ref.runId, ref.attempt, makeScrubber([key]), latestPhase)
    await tailer.load()

    let state = await host.probe(layout.proc)
    if (state.state === 'absent') {
      const argv = harborRunArgv({
        harborBin: deps.harborBin,
        taskDir: host.absolute(layout.task),
        jobsDir: host.absolute(layout.jobs),
        jobName: path.basename(layout.jobDir),
        agent: job.agent,
        model: harnessModel(job.model),
        environment: job.environment,
        timeoutMultiplier: job.timeout_multiplier,
      })
      await logOnce(ref, 'runner:start', `starting on ${host.id}: ${argv.slice(1).join(' ')}`)
      try {
        await host.startDetached(layout.proc, argv, {
          cwd: layout.root,
          env: deps.harnessEnv,
          secretEnv: key ? { OPENROUTER_API_KEY: key } : {},
        })
      } catch (err) {
        if (!(err instanceof AlreadyStartedError)) throw err
      }
      state = { state: 'running' }
    } else if (state.state === 'running') {
      await logOnce(ref, `runner:attach:${ctx.info.attempt}`, `re-attached to the running harness on ${host.id}`)
    }

    const cancellation = ctx.cancelled.then(
      () => null,
      (err: unknown) => err,
    )
    let lastLiveness = Date.now()
    let terminating: number | null = null
    for (;;) {
      if (state.state === 'exited' || state.state === 'lost') {
        await follow(tailer, layout, true)
        return state.state === 'exited'
          ? { state: 'exited', exitCode: state.exitCode, startedAtMs: state.startedAtMs, finishedAtMs: state.finishedAtMs }
          : { state: 'lost', exitCode: null, startedAtMs: null, finishedAtMs: null }
      }
      await follow(tailer, layout)
      heartbeat({ offsets: Object.fromEntries(tailer.offsets) })

      if (terminating === null) {
        const failure = await Promise.race([sleep(deps.pollIntervalMs).then(() => null), cancellation])
        if (failure) {
          // Worker shutdown or a heartbeat timeout: leave the harness running for whoever comes next.
          if (!(failure instanceof CancelledFailure) || failure.message !== 'CANCELLED') throw failure
          terminating = Date.now()
          await logOnce(ref, 'runner:cancel', 'cancelled: sending SIGTERM to the harness')
          await host.signal(layout.proc, 'SIGTERM')
        }
      } else {
        await sleep(deps.pollIntervalMs)
      }
      if (terminating !== null && Date.now() - terminating > deps.cancelGraceMs) {
        await host.signal(layout.proc, 'SIGKILL', { group: true })
      }

      state = await probeCheaply(layout, Date.now() - lastLiveness > LIVENESS_EVERY_MS)
      if (state.state === 'running' && Date.now() - lastLiveness > LIVENESS_EVERY_MS) lastLiveness = Date.now()
      if (terminating !== null && state.state !== 'running') {
        await follow(tailer, layout, true)
        throw new CancelledFailure('CANCELLED')
      }
    }
  }

  /** Reads what the harness's files gained (a phase event moves the run's live phase with it). */
  async function follow(tailer: LogTailer, layout: AttemptLayout, final = false): Promise<void> {
    await tailer.poll(await logSources(layout), final)
  }

  /** The exit record on every call; the (costlier) liveness check only when `full`. */
  async function probeCheaply(layout: AttemptLayout, full: boolean): Promise<HarnessProcessState> {
    if (full) return host.probe(layout.proc)
    const exit = await host.readFrom(path.join(layout.proc, 'exit'), 0, 64)
    return exit && exit.length > 0 ? host.probe(layout.proc) : { state: 'running' }
  }

  /** Our own log line, written exactly once however often the activity is retried. */
  async function logOnce(ref: AttemptRef, marker: string, line: string): Promise<void> {
    try {
      await appendRunLog(db, ref.runId, ref.attempt, [{ stream: 'runner', line }], [{ source: marker, from: 0, to: 1 }])
    } catch (err) {
      if ((err as Error).name !== 'LogCursorConflict') throw err
    }
  }

  /**
   * The files worth following: the harness's stderr; Harbor's job log (which holds every line of the
   * trial's own trial.log as well, so that is not followed twice); and, per trial, the agent's text
   * logs (e.g. the oracle's `oracle.txt`) and the verifier's test output, which grow live when the
   * environment bind-mounts them.
   */
  async function logSources(layout: AttemptLayout): Promise<LogSource[]> {
    const sources: LogSource[] = [
      { key: 'events', path: path.join(layout.jobDir, PHASE_EVENTS_FILE), stream: 'phase' },
      { key: 'proc/stderr', path: path.join(layout.proc, 'stderr'), stream: 'stderr' },
      { key: 'job.log', path: path.join(layout.jobDir, 'job.log'), stream: 'harbor' },
    ]
    for (const entry of await host.list(layout.jobDir)) {
      if (!entry.includes('__')) continue
      const trial = path.join(layout.jobDir, entry)
      for (const file of await host.list(path.join(trial, 'agent'))) {
        if (file.endsWith('.txt')) sources.push({ key: `${entry}/agent/${file}`, path: path.join(trial, 'agent', file), stream: 'agent' })
      }
      sources.push({
        key: `${entry}/agent/trajectory.json`,
        path: path.join(trial, 'agent', 'trajectory.json'),
        stream: 'trajectory',
        kind: 'trajectory',
      })
      sources.push({ key: `${entry}/verifier/test-stdout.txt`, path: path.join(trial, 'verifier', 'test-stdout.txt'), stream: 'verifier' })
    }
    sources.push({ key: 'proc/stdout', path: path.join(layout.proc, 'stdout'), stream: 'stdout' })
    return sources
  }
}
