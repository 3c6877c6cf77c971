/**
 * Starts detached processes through a small helper process rather than from this one.
 *
 * A worker of several hundred MiB that spawns a process blocks its main thread for the fork and
 * until the child has exec'd, tens of milliseconds each on a busy machine, which adds up when
 * hundreds of runs start at once (docs/benchmarks/load.md, measurement 3). The helper
 * (`launcher-process.mjs`, forked once, with an empty environment so that none of the worker's
 * secrets reach it) does the fork, and reaps what it started.
 *
 * If the helper dies, requests waiting on it fail and the next request starts a new one.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const LAUNCHER_SCRIPT = fileURLToPath(new URL('./launcher-process.mjs', import.meta.url))

export interface LaunchRequest {
  file: string
  args: readonly string[]
  cwd: string
  env: Readonly<Record<string, string>>
}

interface Answer {
  id: number
  pid?: number
  error?: string
  code?: string | null
}

export class LaunchError extends Error {
  override name = 'LaunchError'
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message)
  }
}

export class Launcher {
  #child: ChildProcess | null = null
  #next = 1
  readonly #pending = new Map<
    number,
    { helper: ChildProcess; resolve: (pid: number) => void; reject: (err: Error) => void }
  >()

  /** Starts `file` in its own session with no stdio; resolves with its pid once it has started. */
  spawnDetached(request: LaunchRequest): Promise<number> {
    const child = this.#helper()
    const id = this.#next++
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { helper: child, resolve, reject })
      // While it has answers to give, the channel keeps this process alive.
      child.channel?.ref()
      child.send({ id, ...request }, (err) => {
        if (err) this.#settle({ id, error: `launcher: ${err.message}`, code: null })
      })
    })
  }

  /** The helper's pid, once started (for tests). */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Stops the helper; what it started runs on. */
  close(): void {
    this.#child?.disconnect()
    this.#child = null
  }

  #helper(): ChildProcess {
    if (this.#child?.connected) return this.#child
    const child = fork(LAUNCHER_SCRIPT, [], {
      execArgv: [],
      env: {},
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    })
    child.on('message', (answer: Answer) => this.#settle(answer))
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#child = null
      const reason = new LaunchError(`the launcher process exited (${signal ?? `code ${code}`})`, null)
      for (const [id, p] of this.#pending) {
        if (p.helper !== child) continue
        this.#pending.delete(id)
        p.reject(reason)
      }
    })
    child.once('error', () => {})
    // Neither the helper nor its channel keeps this process alive.
    child.unref()
    child.channel?.unref()
    this.#child = child
    return child
  }

  #settle(answer: Answer): void {
    const p = this.#pending.get(answer.id)
    if (!p) return
    this.#pending.delete(answer.id)
    if (![...this.#pending.values()].some((other) => other.helper === p.helper)) p.helper.channel?.unref()
    if (answer.pid !== undefined) p.resolve(answer.pid)
    else p.reject(new LaunchError(answer.error ?? 'launch failed', answer.code ?? null))
  }
}

/** The process's launcher, started on first use. */
export const launcher = new Launcher()
