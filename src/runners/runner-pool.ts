/**
 * The trial runners of one execution host: long-lived harness processes (one per `maxAttempts`
 * slots) that each run many attempts, so that the harness's code is loaded once per host rather
 * than once per attempt.
 *
 * Each runner lives in `<work dir>/.runners/<build>-<slot>-<generation>/`, started detached under
 * the supervisor (its `proc/` record says whether it lives, like any harness process), and answers
 * on the socket its `socket` file names once it is ready. Its directory name never comes back: a
 * dead runner's successor is the next generation, made with an atomic mkdir, so two workers that
 * serve the same host never start two runners for one slot, nor remove a live one.
 *
 * A new build (our runner's sources, the interpreter, the environment or the options changed) gets
 * new runners, and the old ones are told to drain: they take no new attempts and exit when their
 * own have ended. A runner whose Harbor was upgraded under it says so (`stale`) and drains itself.
 */
import pathPosix from 'node:path/posix'
import { setTimeout as sleep } from 'node:timers/promises'
import { AlreadyStartedError, type ManagedHost } from '../hosts/execution-host.js'
import type { Logger } from '../logger.js'
import { HOST_RUNNERS_DIR as RUNNERS_DIR } from '../shared/ids.js'
import { askRunner, RunnerRefusal, runnerState, type RunnerState } from './runner-client.js'

const NAME = /^([0-9a-f]{12})-(\d+)-(\d+)$/
/** How long a start waits for a runner to come up (it imports Harbor first: about a second). */
const READY_TIMEOUT_MS = 120_000

/** What a host's runners are made of; `build` changes whenever any of it does. */
export interface RunnerSpec {
  /** 12 hex digits. */
  readonly build: string
  /** How many runners the host keeps. */
  readonly count: number
  /** The runner's command line, given its directory and id (absolute on the host). */
  argv(host: ManagedHost, runnerDir: string, id: string): Promise<string[]>
  /** Its whole environment (nothing secret: secrets travel with each attempt, over the socket). */
  readonly env: Record<string, string>
  /** Whether a runner can start on the host (its interpreter imports it), without starting one. */
  check(host: ManagedHost): Promise<{ python: string; harbor: string }>
}

/** A runner that answers, and where. */
export type LiveRunner = RunnerState & { socket: string }

/** A runner as found on the host. */
export interface RunnerReport {
  id: string
  current: boolean
  /** Its answer to `state`, or null while it starts (no socket yet) or when it did not answer. */
  state: LiveRunner | null
}

interface Found {
  id: string
  build: string
  slot: number
  generation: number
}

export class RunnerStartError extends Error {
  override name = 'RunnerStartError'
}

export class RunnerPool {
  #reports: RunnerReport[] = []
  #survey: Promise<RunnerReport[]> | null = null
  readonly #drained = new Set<string>()
  readonly #failuresSeen = new Set<string>()

  constructor(
    private readonly host: ManagedHost,
    private readonly spec: RunnerSpec,
    private readonly logger?: Logger,
  ) {}

  /**
   * Looks at the host's runners: removes what dead ones left, tells those of another build to
   * drain, and starts the current build's missing ones. Throws when a runner it started died
   * before it was ready (with what it printed). One survey at a time; callers share it.
   */
  ensure(): Promise<RunnerReport[]> {
    this.#survey ??= this.#ensure().finally(() => (this.#survey = null))
    return this.#survey
  }

  /**
   * Starts an attempt in the least busy current runner with room (starting runners if needed).
   * Throws {@link AlreadyStartedError} when the attempt's proc dir exists (it was started before).
   */
  async startAttempt(attempt: { proc: string }, secretEnv: Record<string, string>): Promise<string> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (;;) {
      const candidates = this.#reports
        .filter((r) => r.current && r.state && !r.state.draining && r.state.attempts < r.state.max_attempts)
        .sort((a, b) => a.state!.attempts - b.state!.attempts)
      for (const candidate of candidates) {
        try {
          await askRunner(this.host, candidate.state!.socket, { op: 'start', attempt, secret_env: secretEnv })
          candidate.state!.attempts++
          return candidate.id
        } catch (err) {
          if (err instanceof RunnerRefusal && err.code === 'already_started') throw new AlreadyStartedError(err.message)
          if (err instanceof RunnerRefusal && err.code === 'bad_request') throw err
          // Full, draining, or gone since the survey: the next one.
          candidate.state = null
        }
      }
      if (Date.now() > deadline) throw new RunnerStartError(`no trial runner on ${this.host.id} took the attempt`)
      await this.ensure()
      if (!this.#reports.some((r) => r.current && r.state && !r.state.draining)) await sleep(200)
    }
  }

  /** Cancels (Harbor cleans up) or kills (ends at once) the attempt recorded in `procDir`. */
  async stopAttempt(procDir: string, how: 'cancel' | 'kill'): Promise<void> {
    const id = (await this.host.readFrom(pathPosix.join(procDir, 'runner'), 0, 256))?.toString().trim()
    if (!id || !NAME.test(id)) return
    const socket = await this.#socketOf(id)
    if (!socket) return
    try {
      await askRunner(this.host, socket, { op: how, proc: this.host.absolute(procDir) })
    } catch (err) {
      // It ended already, or its runner is gone (and the attempt with it).
      if (err instanceof RunnerRefusal && err.code === 'unknown_attempt') return
      if (err instanceof RunnerRefusal) throw err
      this.logger?.warn('could not reach the runner to stop an attempt', { runner: id, how, err })
    }
  }

  /** The runners that live on the host now, with their answers; changes nothing (for doctor). */
  async survey(): Promise<RunnerReport[]> {
    return (await this.#look()).filter((r) => r.alive).map(({ id, current, state }) => ({ id, current, state }))
  }

  /** Every runner directory on the host: whether its process lives, and what it answers. */
  async #look(): Promise<(Found & RunnerReport & { dir: string; alive: boolean })[]> {
    const looked = []
    for (const name of await this.host.list(RUNNERS_DIR)) {
      const m = NAME.exec(name)
      if (!m) continue
      const dir = pathPosix.join(RUNNERS_DIR, name)
      const proc = (await this.host.probe(pathPosix.join(dir, 'proc'))).state
      if (proc === 'absent') continue
      const alive = proc === 'running'
      const found = { id: name, build: m[1]!, slot: Number(m[2]), generation: Number(m[3]) }
      looked.push({
        ...found,
        dir,
        alive,
        current: found.build === this.spec.build,
        state: alive ? await this.#stateOf(name) : null,
      })
    }
    return looked
  }

  async #ensure(): Promise<RunnerReport[]> {
    const looked = await this.#look()
    const lastGeneration = new Map<number, number>()
    for (const r of looked) {
      if (r.current) lastGeneration.set(r.slot, Math.max(lastGeneration.get(r.slot) ?? 0, r.generation))
    }
    const reports: RunnerReport[] = []
    const failures: string[] = []
    for (const runner of looked) {
      if (!runner.alive) {
        const failure = await this.#deathOf(runner, runner.dir)
        if (failure && runner.current) failures.push(failure)
        // A slot's last generation stays (dead) until its successor exists, so that no number is used twice.
        if (!runner.current || runner.generation < lastGeneration.get(runner.slot)!) await this.host.remove(runner.dir)
        continue
      }
      const { id, current, state } = runner
      if (!current && state && !state.draining && !this.#drained.has(id)) {
        this.#drained.add(id)
        await this.#ask(id, { op: 'drain' })
        this.logger?.info('asked a runner of an older build to drain', { runner: id })
      }
      reports.push({ id, current, state })
    }
    for (let slot = 0; slot < this.spec.count; slot++) {
      const serving = reports.some((r) => r.current && slotOf(r.id) === slot && !(r.state?.draining ?? false))
      if (serving) continue
      const id = `${this.spec.build}-${slot}-${(lastGeneration.get(slot) ?? 0) + 1}`
      await this.#start(id)
      reports.push({ id, current: true, state: null })
    }
    this.#reports = reports
    if (failures.length > 0 && !reports.some((r) => r.current && r.state))
      throw new RunnerStartError(`the trial runner on ${this.host.id} died before it was ready: ${failures[0]}`)
    return reports
  }

  async #start(id: string): Promise<void> {
    const dir = pathPosix.join(RUNNERS_DIR, id)
    const argv = await this.spec.argv(this.host, this.host.absolute(dir), id)
    try {
      await this.host.startDetached(pathPosix.join(dir, 'proc'), argv, { cwd: dir, env: this.spec.env, secretEnv: {} })
      this.logger?.info('started a trial runner', { runner: id })
    } catch (err) {
      // Another worker of this host started it first.
      if (!(err instanceof AlreadyStartedError)) throw err
    }
  }

  /** What a runner that died before it was ready printed (once per runner), else null. */
  async #deathOf(runner: Found, dir: string): Promise<string | null> {
    if (this.#failuresSeen.has(runner.id)) return null
    this.#failuresSeen.add(runner.id)
    this.#drained.delete(runner.id)
    if ((await this.host.fileSize(pathPosix.join(dir, 'socket'))) !== null) return null
    const stderr = await this.host.readFrom(pathPosix.join(dir, 'proc', 'stderr'), 0, 64 * 1024)
    const failure = (stderr?.toString('utf8').trim().split('\n').slice(-8).join('\n') || 'it printed nothing').slice(
      -2000,
    )
    this.logger?.warn('a trial runner died before it was ready', { runner: runner.id, stderr: failure })
    return failure
  }

  async #socketOf(id: string): Promise<string | null> {
    const text = await this.host.readFrom(pathPosix.join(RUNNERS_DIR, id, 'socket'), 0, 4096)
    return text?.toString('utf8').trim() || null
  }

  async #stateOf(id: string): Promise<LiveRunner | null> {
    const socket = await this.#socketOf(id)
    if (!socket) return null
    try {
      return { ...(await runnerState(this.host, socket)), socket }
    } catch (err) {
      this.logger?.warn('a trial runner did not answer', { runner: id, err })
      return null
    }
  }

  async #ask(id: string, request: { op: 'drain' }): Promise<void> {
    const socket = await this.#socketOf(id)
    if (socket) await askRunner(this.host, socket, request).catch(() => undefined)
  }
}

function slotOf(id: string): number {
  return Number(NAME.exec(id)?.[2] ?? -1)
}
