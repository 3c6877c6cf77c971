/**
 * The local machine as an execution host: the work dir is a local directory, processes are spawned
 * detached (their own session; local/processes.ts), and files are read directly, never through a
 * link (safe-files.ts); directories are watched by inotify (local/dir-watch.ts).
 */
import fsSync, { constants, promises as fs } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { execa } from 'execa'
import {
  MAX_REPORTED,
  type CopyLimits,
  type CopyReport,
  type DirWatch,
  type HarnessProcessState,
  type ManagedHost,
  type StartOptions,
} from './execution-host.js'
import { LocalDirWatch } from './local/dir-watch.js'
import { probeRecord, signalRecorded, startSupervised } from './local/processes.js'
import { stopAllHarnesses } from './local/stop-all.js'
import { copyBelow, listBelow, readBelow, sanitizeTree, sizeBelow } from './safe-files.js'
import { probeState } from './shell.js'
import { PROBE_SCRIPT } from './supervisor-scripts.js'

export { PROBE_SCRIPT, SUPERVISOR_SCRIPT } from './supervisor-scripts.js'

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
    await startSupervised(this.resolve(procDir), procDir, this.resolve(options.cwd), argv, options)
  }

  /**
   * What probe.sh answers (see there), found without starting a process: a worker probes hundreds
   * of harnesses, and spawning from a large process costs tens of milliseconds of its main thread.
   */
  async probe(procDir: string): Promise<HarnessProcessState> {
    return probeRecord(this.resolve(procDir), (proc) => this.probeByScript(proc))
  }

  async probeByScript(proc: string): Promise<HarnessProcessState> {
    return probeState((await execa('sh', [PROBE_SCRIPT, proc])).stdout)
  }

  /** By inotify (`fs.watch` on each directory): a harness's line reaches its follower at once. */
  watch(root: string, onChange: (rel: string | null) => void): DirWatch {
    return new LocalDirWatch((rel) => this.resolve(rel), root, onChange)
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
    await signalRecorded(this.resolve(procDir), signal, options.group ?? false)
  }

  /**
   * Stops every harness still running under this host's work dir, and its trial runners (the
   * all-in-one command does this on Ctrl-C so that no process outlives it): SIGTERM first, SIGKILL
   * to the group after `graceMs`. Each is marked interrupted, so its attempt is retried rather than
   * scored (a runner marks its own attempts). Returns how many processes it stopped.
   */
  async stopAllHarnesses(graceMs: number): Promise<number> {
    return stopAllHarnesses(this, graceMs)
  }
}
