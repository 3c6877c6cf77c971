/**
 * Upload-time checks by the harnesses' own rules, which run nothing: a task is loaded with Harbor's
 * task model or Terminal-Bench's, and the uploader sees the precise reason one is invalid ("does not
 * contain tests/test.sh", "agent.timeout_sec: Input should be a valid number", "difficulty: Field
 * required") rather than a failed run later. What each harness does to a task before it is checked
 * (Harbor converts Terminal-Bench tasks) is in the harness's folder (`prepareTask`).
 *
 * Importing the harnesses takes seconds, so checks go to one long-lived Python process
 * (`check_task.py --serve`), started on first use and again if it dies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { TaskArchiveError } from './errors.js'
import type { TaskFormat } from './task-format.js'

const CHECK_SCRIPT = fileURLToPath(new URL('./check_task.py', import.meta.url))
const CHECK_TIMEOUT_MS = 120_000

const Verdict = z.union([
  z.object({ ok: z.literal(true), name: z.string(), time_limit_sec: z.number().nullable() }),
  z.object({ ok: z.literal(false), type: z.string(), message: z.string() }),
])

export interface CheckedTask {
  /** How long one trial may take by the task's own timeouts (before the multiplier), if bounded. */
  timeLimitSec: number | null
}

/**
 * The environment of the harness tools run here (the checker, a task's conversion): PATH and HOME
 * as configured, nothing of the service's own secrets.
 */
export function toolEnvironment(base: { path: string; home: string }): Record<string, string> {
  return {
    PATH: base.path,
    HOME: base.home,
    PYTHONDONTWRITEBYTECODE: '1',
    HARBOR_TELEMETRY: '0',
    NO_COLOR: '1',
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    PYTHON_DOTENV_DISABLED: '1',
  }
}

export class TaskChecker {
  #child: ChildProcess | null = null
  #ready: Promise<void> | null = null
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #nextId = 1

  constructor(
    private readonly python: string,
    /** See {@link toolEnvironment}. */
    private readonly env: Record<string, string>,
  ) {}

  /** Starts the checker ahead of the first upload, which would otherwise wait for its imports. */
  warm(onError: (err: unknown) => void): void {
    this.#start().catch(onError)
  }

  /** Resolves for a valid task; throws {@link TaskArchiveError} `invalid_task` with the harness's reason. */
  async check(kind: TaskFormat, root: string): Promise<CheckedTask> {
    await this.#start()
    const id = this.#nextId++
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`the task check did not answer within ${CHECK_TIMEOUT_MS / 1000} s`))
      }, CHECK_TIMEOUT_MS)
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
    })
    this.#child!.stdin!.write(JSON.stringify({ id, kind, root }) + '\n')
    const verdict = Verdict.parse(await answer)
    if (!verdict.ok) {
      const harness = kind === 'harbor' ? 'Harbor' : 'Terminal-Bench'
      throw new TaskArchiveError('invalid_task', `${harness} rejects this task: ${verdict.message}`)
    }
    return { timeLimitSec: verdict.time_limit_sec }
  }

  async close(): Promise<void> {
    const child = this.#child
    this.#child = null
    this.#ready = null
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }

  #start(): Promise<void> {
    if (this.#ready) return this.#ready
    const child = spawn(this.python, [CHECK_SCRIPT, '--serve'], {
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#child = child
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)))
    this.#ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let message: { id?: number; ready?: boolean }
        try {
          message = JSON.parse(line)
        } catch {
          return
        }
        if (message.ready) return resolve()
        const waiter = message.id === undefined ? undefined : this.#pending.get(message.id)
        if (waiter) {
          this.#pending.delete(message.id!)
          waiter.resolve(message)
        }
      })
      child.once('error', reject)
      child.once('exit', (code) => {
        const error = new Error(`the task checker exited (status ${code}): ${stderr.slice(-500)}`)
        reject(error)
        for (const waiter of this.#pending.values()) waiter.reject(error)
        this.#pending.clear()
        // The next check starts a new one.
        if (this.#child === child) {
          this.#child = null
          this.#ready = null
        }
      })
    })
    return this.#ready
  }
}
