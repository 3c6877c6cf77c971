/**
 * The local machine as an execution host: the work dir is a local directory, processes are spawned
 * detached (their own session), and files are read directly, never through a link (safe-files.ts).
 */
import { randomUUID } from 'node:crypto'
import fsSync, { constants, promises as fs } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { HOST_RUNNERS_DIR } from '../shared/ids.js'
import { launcher } from './launcher.js'
import { copyBelow, listBelow, readBelow, sanitizeTree, sizeBelow } from './safe-files.js'
import { probeState } from './shell.js'
import {
  AlreadyStartedError,
  formatEnvFile,
  MAX_REPORTED,
  RefusedPathError,
  type CopyLimits,
  type CopyReport,
  type DirWatch,
  type HarnessProcessState,
  type ManagedHost,
  type StartOptions,
} from './execution-host.js'

export const SUPERVISOR_SCRIPT = fileURLToPath(new URL('./supervise.sh', import.meta.url))
export const PROBE_SCRIPT = fileURLToPath(new URL('./probe.sh', import.meta.url))

export class LocalHost implements ManagedHost {
  readonly kind = 'local'

  constructor(
    readonly id: string,
    readonly workDir: string,
  ) {}

  get address(): string {
    return this.workDir
  }

  async prepare(): Promise<void> {
    await fs.mkdir(this.workDir, { recursive: true })
  }

  async check(): Promise<void> {
    await fs.mkdir(this.workDir, { recursive: true })
    await fs.access(this.workDir, constants.W_OK)
  }

  async close(): Promise<void> {}

  async exec(argv: readonly string[], options: { cwd?: string } = {}) {
    const [file, ...args] = argv
    const result = await execa(file!, args, { cwd: options.cwd, reject: false })
    return { code: result.exitCode ?? null, stdout: String(result.stdout), stderr: String(result.stderr) }
  }

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

  /** `rel` relative to the work dir (checked to stay below it), as the safe file operations take it. */
  relative(rel: string): string {
    return path.relative(this.workDir, this.resolve(rel))
  }

  async putDirectory(localDir: string, rel: string): Promise<void> {
    const target = this.resolve(rel)
    await fs.rm(target, { recursive: true, force: true })
    await fs.mkdir(path.dirname(target), { recursive: true })
    await fs.cp(localDir, target, { recursive: true, preserveTimestamps: true })
  }

  async getDirectory(rel: string, localDir: string, limits: CopyLimits): Promise<CopyReport> {
    const report = await copyBelow(this.workDir, this.relative(rel), localDir, limits)
    // Nothing but files and directories was written: this only checks it again.
    for (const removed of await sanitizeTree(localDir)) {
      report.leftOutCount++
      if (report.leftOut.length < MAX_REPORTED) report.leftOut.push({ path: removed, why: 'special' })
    }
    return report
  }

  /*
   * Followers read every file they follow many times a second, across hundreds of runs. These reads
   * are synchronous: the files are small and in the page cache, and a synchronous stat costs a few
   * microseconds where the promise API's round trip through libuv's threads costs tens, and a
   * missing file costs an exception. (The work dir must therefore be a local disk, not NFS.)
   */

  async readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null> {
    // Most files have not grown since the last read: an lstat answers that (a couple of
    // microseconds, where the safe read's walk of the path takes about twenty). It tells only a
    // size, and nothing is read but through the safe walk.
    const stats = fsSync.lstatSync(this.resolve(rel), { throwIfNoEntry: false })
    if (stats === undefined) return null
    if (stats.isFile() && stats.size <= offset) return Buffer.alloc(0)
    return readBelow(this.workDir, this.relative(rel), offset, maxBytes)
  }

  async fileSize(rel: string): Promise<number | null> {
    return sizeBelow(this.workDir, this.relative(rel))
  }

  async list(rel: string, limit?: number): Promise<string[]> {
    return listBelow(this.workDir, this.relative(rel), limit)
  }

  async writeFile(rel: string, content: string): Promise<void> {
    await fs.writeFile(this.resolve(rel), content)
  }

  async remove(rel: string): Promise<void> {
    await fs.rm(this.resolve(rel), { recursive: true, force: true })
  }

  async removeIfEmpty(rel: string): Promise<void> {
    await fs.rmdir(this.resolve(rel)).catch((err: NodeJS.ErrnoException) => {
      if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(err.code ?? '')) throw err
    })
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
    // From a small helper process: spawning from the worker itself blocks its main thread.
    await launcher.spawnDetached({
      file: '/bin/sh',
      args: [SUPERVISOR_SCRIPT, proc, envFile, ...argv],
      cwd: this.resolve(options.cwd),
      env: options.env,
    })
  }

  /**
   * What probe.sh answers (see there), found without starting a process: a worker probes hundreds
   * of harnesses, and spawning from a large process costs tens of milliseconds of its main thread.
   */
  async probe(procDir: string): Promise<HarnessProcessState> {
    const proc = this.resolve(procDir)
    for (;;) {
      const exit = await readText(path.join(proc, 'exit'))
      if (exit !== null) {
        // The same answer probe.sh would give, read by the same parser.
        const started = (await readText(path.join(proc, 'started')))?.trim() || '-'
        const interrupted = (await exists(path.join(proc, INTERRUPTED))) ? 'interrupted' : ''
        return probeState(`exited ${exit.trim()} ${started} ${interrupted}`)
      }
      const dir = await fs.stat(proc).catch(() => null)
      if (!dir?.isDirectory()) return { state: 'absent' }
      if (await lockHeld(proc)) return { state: 'running' }
      // The exit record landed between our looks.
      if (await exists(path.join(proc, 'exit'))) continue
      // Just made: the supervisor has not taken its lock yet.
      if (!(await exists(path.join(proc, 'started'))) && Date.now() - dir.mtimeMs < 15_000) return { state: 'running' }
      // /proc/locks is read in pieces, and entries shift as other locks go: one can be missed. Lost
      // is rare and final, so probe.sh's own flock has the last word.
      return this.probeByScript(proc)
    }
  }

  async probeByScript(proc: string): Promise<HarnessProcessState> {
    return probeState((await execa('sh', [PROBE_SCRIPT, proc])).stdout)
  }

  /** By inotify (`fs.watch` on each directory): a harness's line reaches its follower at once. */
  watch(root: string, onChange: (rel: string | null) => void): DirWatch {
    return new LocalDirWatch(this, root, onChange)
  }

  openSocket(socketPath: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(socket)
      })
      socket.once('error', reject)
    })
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
   * Stops every harness still running under this host's work dir, and its trial runners (the
   * all-in-one command does this on Ctrl-C so that no process outlives it): SIGTERM first, SIGKILL
   * to the group after `graceMs`. Each is marked interrupted, so its attempt is retried rather than
   * scored (a runner marks its own attempts). Returns how many processes it stopped.
   */
  async stopAllHarnesses(graceMs: number): Promise<number> {
    // Supervisors' records (`runs/<job>/run-<n>/attempt-<a>/proc`, `.runners/<id>/proc`), looked
    // for no deeper, and not below a directory that has one: below lies what a harness wrote.
    const procs: string[] = []
    const look = async (dir: string, depth: number): Promise<void> => {
      const names = await this.list(dir).catch((err: unknown): string[] => {
        if (err instanceof RefusedPathError) return []
        throw err
      })
      if (names.includes('proc')) return void procs.push(path.join(dir, 'proc'))
      if (depth > 0) for (const name of names) await look(path.join(dir, name), depth - 1)
    }
    await look('runs', 3)
    await look(HOST_RUNNERS_DIR, 1)
    const running: string[] = []
    for (const proc of procs) {
      // An attempt in a runner has no process of its own: its runner stops it.
      if ((await exists(path.join(this.resolve(proc), 'runner'))) || (await this.probe(proc)).state !== 'running')
        continue
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

class LocalDirWatch implements DirWatch {
  readonly #watchers = new Map<string, fsSync.FSWatcher>()

  constructor(
    private readonly host: LocalHost,
    private readonly root: string,
    private readonly onChange: (rel: string | null) => void,
  ) {}

  update(dirs: readonly string[]): void {
    const wanted = new Set<string>()
    for (const dir of dirs) {
      // A directory not made yet: its nearest existing parent tells when it is.
      for (let d = path.posix.normalize(dir); ; d = path.posix.dirname(d)) {
        if (this.#watchers.has(d) || this.#start(d)) {
          wanted.add(d)
          break
        }
        if (d === this.root || !d.startsWith(this.root + '/')) break
      }
    }
    for (const [dir, watcher] of this.#watchers) {
      if (wanted.has(dir)) continue
      watcher.close()
      this.#watchers.delete(dir)
    }
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close()
    this.#watchers.clear()
  }

  #start(dir: string): boolean {
    let watcher: fsSync.FSWatcher
    try {
      // Not persistent: a watch never keeps the process alive.
      watcher = fsSync.watch(this.host.resolve(dir), { persistent: false }, (_event, name) =>
        this.onChange(name ? path.posix.join(dir, name.toString()) : null),
      )
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return false
      throw err
    }
    // Removed under us (clean-up) or out of watches: the follower polls that directory again.
    watcher.on('error', () => {
      watcher.close()
      if (this.#watchers.get(dir) === watcher) this.#watchers.delete(dir)
      this.onChange(null)
    })
    this.#watchers.set(dir, watcher)
    return true
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  )
}

/**
 * Whether the record's lock is held (by the supervisor or anything it started, or by the trial
 * runner that runs the attempt): the lock file's inode is among the flocks in /proc/locks
 * ("1: FLOCK  ADVISORY  WRITE 4321 fe:00:2146594 0 EOF"). The device is not compared, since on
 * some filesystems (btrfs subvolumes) stat reports another one.
 * (Not the process group: its members can linger as zombies where nothing reaps them.)
 */
async function lockHeld(proc: string): Promise<boolean> {
  const lock = await fs.stat(path.join(proc, 'lock'), { bigint: true }).catch(() => null)
  if (!lock) return false
  const locks = await fs.readFile('/proc/locks', 'utf8')
  const inode = `:${lock.ino} `
  return locks.split('\n').some((line) => line.includes(' FLOCK ') && line.includes(inode))
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}
