/**
 * The local machine as an execution host: the work dir is a local directory, processes are spawned
 * detached (their own session), and files are read directly.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { constants, promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import {
  AlreadyStartedError,
  formatEnvFile,
  type ExecutionHost,
  type HarnessProcessState,
  type StartOptions,
} from './execution-host.js'

export const SUPERVISOR_SCRIPT = fileURLToPath(new URL('./supervise.sh', import.meta.url))

/** A started process that has not written its lock within this long is considered lost. */
const START_GRACE_MS = 15_000

export class LocalHost implements ExecutionHost {
  constructor(
    readonly id: string,
    readonly workDir: string,
  ) {}

  absolute(rel: string): string {
    return this.resolve(rel)
  }

  resolve(rel: string): string {
    const abs = path.resolve(this.workDir, rel)
    if (abs !== this.workDir && !abs.startsWith(this.workDir + path.sep)) {
      throw new Error(`path ${rel} leaves the host work dir`)
    }
    return abs
  }

  async putDirectory(localDir: string, rel: string): Promise<void> {
    const target = this.resolve(rel)
    await fs.rm(target, { recursive: true, force: true })
    await fs.mkdir(path.dirname(target), { recursive: true })
    await fs.cp(localDir, target, { recursive: true, preserveTimestamps: true })
  }

  async getDirectory(rel: string, localDir: string): Promise<void> {
    await fs.mkdir(localDir, { recursive: true })
    await fs.cp(this.resolve(rel), localDir, { recursive: true, preserveTimestamps: true })
  }

  async readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null> {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(this.resolve(rel), constants.O_RDONLY)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    try {
      const buffer = Buffer.alloc(maxBytes)
      const { bytesRead } = await handle.read(buffer, 0, maxBytes, offset)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }

  async fileSize(rel: string): Promise<number | null> {
    try {
      return (await fs.stat(this.resolve(rel))).size
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  async list(rel: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.resolve(rel))).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  async writeFile(rel: string, content: string): Promise<void> {
    await fs.writeFile(this.resolve(rel), content)
  }

  async remove(rel: string): Promise<void> {
    await fs.rm(this.resolve(rel), { recursive: true, force: true })
  }

  async startDetached(procDir: string, argv: readonly string[], options: StartOptions): Promise<void> {
    const proc = this.resolve(procDir)
    await fs.mkdir(path.dirname(proc), { recursive: true })
    try {
      // mkdir is atomic: of two workers racing here, exactly one starts the command.
      await fs.mkdir(proc)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyStartedError(`${procDir} exists`)
      throw err
    }
    const envFile = path.join(proc, `env-${randomUUID()}`)
    await fs.writeFile(envFile, formatEnvFile(options.secretEnv), { mode: 0o600 })
    const child = spawn('/bin/sh', [SUPERVISOR_SCRIPT, proc, envFile, ...argv], {
      cwd: this.resolve(options.cwd),
      env: options.env,
      detached: true,
      stdio: 'ignore',
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    child.unref()
  }

  async probe(procDir: string): Promise<HarnessProcessState> {
    const proc = this.resolve(procDir)
    const exit = await readText(path.join(proc, 'exit'))
    // Stopped by a service shutdown: its result is not the run's, so the attempt counts as lost.
    if (exit !== null && (await exists(path.join(proc, INTERRUPTED)))) return { state: 'lost' }
    if (exit !== null) {
      const [code, finished] = exit.trim().split(/\s+/).map(Number)
      const started = await readText(path.join(proc, 'started'))
      return {
        state: 'exited',
        exitCode: Number.isInteger(code) ? code! : -1,
        startedAtMs: started ? Number(started.trim()) : null,
        finishedAtMs: Number.isFinite(finished) ? finished! : Date.now(),
      }
    }
    let stat
    try {
      stat = await fs.stat(proc)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' }
      throw err
    }
    if (await isLockHeld(path.join(proc, 'lock'))) return { state: 'running' }
    // The exit record may have landed between our two looks.
    if ((await readText(path.join(proc, 'exit'))) !== null) return this.probe(procDir)
    return Date.now() - stat.mtimeMs < START_GRACE_MS && !(await exists(path.join(proc, 'started')))
      ? { state: 'running' }
      : { state: 'lost' }
  }

  async signal(procDir: string, signal: 'SIGTERM' | 'SIGKILL', options: { group?: boolean } = {}): Promise<void> {
    const proc = this.resolve(procDir)
    const file = options.group ? 'pgid' : 'pid'
    const pid = Number((await readText(path.join(proc, file)))?.trim())
    if (!Number.isInteger(pid) || pid <= 1) return
    try {
      process.kill(options.group ? -pid : pid, signal)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
    }
  }

  /**
   * Stops every harness still running under this host's work dir (the all-in-one command does this
   * on Ctrl-C so that no process outlives it): SIGTERM first, SIGKILL to the group after `graceMs`.
   * Each is marked interrupted, so its attempt is retried rather than scored. Returns how many.
   */
  async stopAllHarnesses(graceMs: number): Promise<number> {
    const procs: string[] = []
    const runsDir = this.resolve('runs')
    for (const entry of await fs.readdir(runsDir, { recursive: true, withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && entry.name === 'proc') procs.push(path.relative(this.workDir, path.join(entry.parentPath, entry.name)))
    }
    const running: string[] = []
    for (const proc of procs) {
      if ((await this.probe(proc)).state !== 'running') continue
      await fs.writeFile(path.join(this.resolve(proc), INTERRUPTED), '')
      await this.signal(proc, 'SIGTERM')
      running.push(proc)
    }
    const deadline = Date.now() + graceMs
    for (const proc of running) {
      while ((await this.probe(proc)).state === 'running' && Date.now() < deadline) await sleep(200)
      await this.signal(proc, 'SIGKILL', { group: true })
    }
    return running.length
  }
}

const INTERRUPTED = 'interrupted'

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

async function exists(file: string): Promise<boolean> {
  return (await readText(file).catch(() => null)) !== null
}

/** Whether some process holds an flock on `file` (the supervisor and its children do). */
async function isLockHeld(file: string): Promise<boolean> {
  if (!(await exists(file))) return false
  const result = await execa('flock', ['-n', '-s', file, 'true'], { reject: false })
  return result.exitCode !== 0
}
