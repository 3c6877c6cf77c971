/**
 * An execution host in memory for the host activities' tests (test/activities): its files a map,
 * its one harness a state that the test and the signals move. A harness runs until it exits, is
 * signalled, or (in a runner) is cancelled or given up; every signal and runner request is recorded
 * with its time. Nothing runs, so an activity's loop over it takes milliseconds.
 */
import { mkdir } from 'node:fs/promises'
import pathPosix from 'node:path/posix'
import type { Duplex } from 'node:stream'
import {
  AlreadyStartedError,
  type CopyReport,
  type HarnessProcessState,
  type ManagedHost,
  type StartOptions,
} from '../../src/hosts/execution-host.js'
import type { RunnerPool } from '../../src/runners/runner-pool.js'

/** What reached the harness: a signal to its process, or a request to the runner it runs in. */
export interface Stop {
  how: 'SIGTERM' | 'SIGKILL' | 'cancel' | 'kill'
  /** Whether a signal went to its whole process group. */
  group?: boolean
  at: number
}

export class FakeHost implements ManagedHost {
  readonly id = 'fake'
  readonly kind = 'local'
  readonly address = '/fake'
  readonly files = new Map<string, string>()
  readonly stops: Stop[] = []
  /** How many times a harness was started (a re-attach starts none). */
  starts = 0
  /** What the harness does when asked to stop (SIGTERM, a runner's cancel): exit, or carry on. */
  onStop: 'exit' | 'ignore' = 'exit'
  /** Called when the harness starts (e.g. to move the run into a phase, as its phase events would). */
  onStart: () => Promise<void> = async () => {}
  #proc: string | null = null

  /** The harness's proc dir once started. */
  get proc(): string | null {
    return this.#proc
  }

  /** Its state, as `probe` reports it. */
  get state(): HarnessProcessState['state'] {
    if (this.#proc === null) return 'absent'
    return this.files.has(`${this.#proc}/exit`) ? 'exited' : 'running'
  }

  /** A harness already running in `procDir` (started by a worker that is gone). */
  adopt(procDir: string, inRunner = false): void {
    this.#proc = procDir
    this.files.set(`${procDir}/started`, String(Date.now()))
    if (inRunner) this.files.set(`${procDir}/runner`, 'runner-0')
  }

  /** The harness ends with `code`, writing its exit record. */
  exit(code: number): void {
    if (this.#proc === null || this.state !== 'running') return
    this.files.set(`${this.#proc}/exit`, `${code} ${Date.now()}`)
  }

  /** A warm runner of this host, as far as the harness activity uses one. */
  runnerPool(): RunnerPool {
    const pool: Pick<RunnerPool, 'startAttempt' | 'stopAttempt'> = {
      startAttempt: async (attempt) => {
        await this.#start(attempt.proc)
        this.files.set(`${attempt.proc}/runner`, 'runner-0')
        return 'runner-0'
      },
      stopAttempt: async (_procDir, how) => this.#stopped(how === 'cancel' ? 'cancel' : 'kill'),
    }
    return pool as RunnerPool
  }

  async startDetached(procDir: string, _argv: readonly string[], _options: StartOptions): Promise<void> {
    await this.#start(procDir)
  }

  async #start(procDir: string): Promise<void> {
    if (this.#proc !== null) throw new AlreadyStartedError(`${procDir} exists`)
    this.adopt(procDir)
    this.starts++
    await this.onStart()
  }

  async probe(procDir: string): Promise<HarnessProcessState> {
    if (procDir !== this.#proc) return { state: 'absent' }
    const exit = this.files.get(`${procDir}/exit`)
    if (exit === undefined) return { state: 'running' }
    const [code, at] = exit.split(' ').map(Number)
    return {
      state: 'exited',
      exitCode: code!,
      startedAtMs: Number(this.files.get(`${procDir}/started`)),
      finishedAtMs: at!,
    }
  }

  async signal(_procDir: string, signal: 'SIGTERM' | 'SIGKILL', options: { group?: boolean } = {}): Promise<void> {
    this.#stopped(signal, options.group ?? false)
  }

  #stopped(how: Stop['how'], group?: boolean): void {
    this.stops.push({ how, ...(group === undefined ? {} : { group }), at: Date.now() })
    if (how === 'SIGKILL') this.exit(137)
    else if (how === 'kill') this.exit(-9)
    else if (this.onStop === 'exit') this.exit(143)
  }

  async readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null> {
    const content = this.files.get(rel)
    return content === undefined ? null : Buffer.from(content).subarray(offset, offset + maxBytes)
  }

  async fileSize(rel: string): Promise<number | null> {
    const content = this.files.get(rel)
    return content === undefined ? null : Buffer.byteLength(content)
  }

  async writeFile(rel: string, content: string): Promise<void> {
    this.files.set(rel, content)
  }

  async list(rel: string): Promise<string[]> {
    const prefix = `${rel}/`
    return [...this.files.keys()].filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split('/')[0]!)
  }

  absolute(rel: string): string {
    return pathPosix.join(this.address, rel)
  }

  async putDirectory(_localDir: string, rel: string): Promise<void> {
    this.files.set(`${rel}/.staged`, '')
  }

  /** Collects nothing: the harness wrote no output. */
  async getDirectory(_rel: string, localDir: string): Promise<CopyReport> {
    await mkdir(localDir, { recursive: true })
    return { files: 0, bytes: 0, leftOut: [], leftOutCount: 0, stoppedAt: null }
  }

  async remove(rel: string): Promise<void> {
    for (const f of [...this.files.keys()]) if (f === rel || f.startsWith(`${rel}/`)) this.files.delete(f)
  }

  async removeIfEmpty(): Promise<void> {}

  async openSocket(): Promise<Duplex> {
    throw new Error('the fake host has no sockets')
  }

  async prepare(): Promise<void> {}
  async check(): Promise<void> {}
  async exec(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return { code: 0, stdout: '', stderr: '' }
  }
  async close(): Promise<void> {}
}
