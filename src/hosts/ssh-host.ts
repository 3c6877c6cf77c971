/**
 * An execution host reached over SSH (key auth): commands through a small pool of reused
 * connections (ssh/connection-pool.ts); file reads through a small Python helper on each of those
 * connections (ssh/file-helpers.ts over remote-files.ts: it never follows a link, as SFTP would),
 * and the harness's output copied back through the same helper as a tar stream; the task copied
 * there with `rsync` over `ssh` (ssh/rsync.ts: one master connection per host); harnesses started,
 * probed and signalled through the supervisor's scripts (ssh/supervisor.ts). The supervisor and
 * probe scripts, and our Harbor plugins, are copied into `<work dir>/.harbor-runner/` by
 * {@link SshHost.prepare}.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import pathPosix from 'node:path/posix'
import type { Duplex } from 'node:stream'
import {
  AlreadyStartedError,
  formatEnvFile,
  type CopyLimits,
  type CopyReport,
  type HarnessProcessState,
  type ManagedHost,
  type StartOptions,
} from './execution-host.js'
import type { KnownHosts } from './known-hosts.js'
import { probeState, shellCommand, shellQuote } from './shell.js'
import { openStreamLocal } from './ssh/channels.js'
import { SshConnectionPool, type SshTarget } from './ssh/connection-pool.js'
import { SshFileHelpers } from './ssh/file-helpers.js'
import { Rsync } from './ssh/rsync.js'
import { ALREADY_STARTED, probeCommand, signalCommand, startScript } from './ssh/supervisor.js'
import { PROBE_SCRIPT, SUPERVISOR_SCRIPT } from './supervisor-scripts.js'

export type { SshTarget } from './ssh/connection-pool.js'

/** What an SSH host is built from (by the runtime, from its configuration). */
export interface SshHostOptions {
  readonly id: string
  /** How many harness runs it takes at once: sizes the connection pool. */
  readonly slots: number
  /** Absolute, on the host. */
  readonly workDir: string
  readonly ssh: SshTarget
  readonly knownHosts: KnownHosts
  /** Our Harbor plugins on this machine (harness-plugins/), copied to the host by {@link SshHost.prepare}. */
  readonly pluginsDir: string
}

export class SshHost implements ManagedHost {
  readonly kind = 'ssh'
  readonly id: string
  readonly workDir: string
  /** Where the supervisor, the probe and our harness plugins live on the host. */
  readonly toolsDir: string
  readonly #ssh: SshTarget
  readonly #pluginsDir: string
  readonly #pool: SshConnectionPool
  readonly #files: SshFileHelpers
  readonly #rsync: Rsync

  constructor(options: SshHostOptions) {
    this.id = options.id
    this.workDir = options.workDir
    this.#ssh = options.ssh
    this.#pluginsDir = options.pluginsDir
    this.toolsDir = pathPosix.join(options.workDir, '.harbor-runner')
    this.#pool = new SshConnectionPool(options.ssh, options.knownHosts, options.slots)
    this.#files = new SshFileHelpers(this.#pool, options.id, options.workDir)
    this.#rsync = new Rsync(options.ssh, options.knownHosts, options.id)
  }

  get address(): string {
    return `${this.#ssh.user}@${this.#ssh.hostname}:${this.#ssh.port}`
  }

  absolute(rel: string): string {
    const abs = pathPosix.resolve(this.workDir, rel)
    if (abs !== this.workDir && !abs.startsWith(this.workDir + '/'))
      throw new Error(`path ${rel} leaves the host work dir`)
    return abs
  }

  /** Copies the supervisor, the probe and our harness plugins into the work dir. Idempotent. */
  async prepare(): Promise<void> {
    const made = await this.exec(['mkdir', '-p', this.toolsDir])
    if (made.code !== 0) throw new Error(`cannot create ${this.toolsDir} on ${this.id}: ${made.stderr.trim()}`)
    await this.#rsync.copy([SUPERVISOR_SCRIPT, PROBE_SCRIPT], `${this.toolsDir}/`)
    await this.#rsync.copy([`${this.#pluginsDir}/`], `${this.toolsDir}/harness-plugins/`, [
      '--delete',
      '--exclude',
      '__pycache__',
    ])
  }

  /** Runs a command on the host; never throws on a non-zero exit. */
  async exec(
    argv: readonly string[],
    options: { cwd?: string } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return this.#pool.withConnection(async (c) => {
      const command = options.cwd ? `cd ${shellQuote(options.cwd)} && ${shellCommand(argv)}` : shellCommand(argv)
      const result = await c.ssh.execCommand(command)
      return { code: result.code, stdout: result.stdout, stderr: result.stderr }
    })
  }

  async putDirectory(localDir: string, rel: string): Promise<void> {
    const target = this.absolute(rel)
    await this.#rsync.copy([`${localDir}/`], `${target}/`, ['--delete', '--mkpath'])
  }

  async getDirectory(rel: string, localDir: string, limits: CopyLimits): Promise<CopyReport> {
    await fs.mkdir(localDir, { recursive: true })
    return this.#files.copyBack(rel, this.#relative(rel), localDir, limits)
  }

  async readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null> {
    const { answer, data } = await this.#files.ask({ op: 'read', path: this.#relative(rel), offset, max: maxBytes })
    return answer.missing ? null : data
  }

  async fileSize(rel: string): Promise<number | null> {
    const { answer } = await this.#files.ask({ op: 'size', path: this.#relative(rel) })
    return answer.missing ? null : (answer.size ?? null)
  }

  async list(rel: string, limit?: number): Promise<string[]> {
    const { answer } = await this.#files.ask({ op: 'list', path: this.#relative(rel), limit: limit ?? null })
    return answer.names ?? []
  }

  async writeFile(rel: string, content: string): Promise<void> {
    await this.#files.ask({ op: 'write', path: this.#relative(rel), data: content })
  }

  async remove(rel: string): Promise<void> {
    const result = await this.exec(['rm', '-rf', '--', this.absolute(rel)])
    if (result.code !== 0) throw new Error(`rm on ${this.id} failed: ${result.stderr.trim()}`)
  }

  async removeIfEmpty(rel: string): Promise<void> {
    await this.#files.ask({ op: 'rmdir', path: this.#relative(rel) })
  }

  /**
   * One round trip (ssh/supervisor.ts): the proc dir made atomically, the secrets file written from
   * stdin with mode 0600, the supervisor started detached from the SSH session.
   */
  async startDetached(procDir: string, argv: readonly string[], options: StartOptions): Promise<void> {
    const proc = this.absolute(procDir)
    const envFile = pathPosix.join(proc, `env-${randomUUID()}`)
    const cwd = this.absolute(options.cwd)
    const script = startScript({ toolsDir: this.toolsDir, proc, envFile, cwd, env: options.env, argv })
    const started = await this.#pool.withConnection((c) =>
      c.ssh.execCommand(shellCommand(['sh', '-c', script]), { stdin: formatEnvFile(options.secretEnv) }),
    )
    if (started.code === ALREADY_STARTED) throw new AlreadyStartedError(`${procDir} exists on ${this.id}`)
    if (started.code !== 0) throw new Error(`starting the harness on ${this.id} failed: ${started.stderr.trim()}`)
  }

  async probe(procDir: string): Promise<HarnessProcessState> {
    const result = await this.exec(probeCommand(this.toolsDir, this.absolute(procDir)))
    if (result.code !== 0) throw new Error(`probe on ${this.id} failed: ${result.stderr.trim()}`)
    return probeState(result.stdout)
  }

  /** A stream-local forward (OpenSSH's `direct-streamlocal@openssh.com`), on a pooled connection. */
  async openSocket(socketPath: string): Promise<Duplex> {
    return this.#pool.withConnection((c) => openStreamLocal(c, socketPath, this.id))
  }

  async signal(procDir: string, signal: 'SIGTERM' | 'SIGKILL', options: { group?: boolean } = {}): Promise<void> {
    await this.exec(signalCommand(this.absolute(procDir), signal, options.group ?? false))
  }

  /** Whether the host answers: a command round trip and the work dir writable. */
  async check(): Promise<void> {
    const result = await this.exec([
      'sh',
      '-c',
      `mkdir -p ${shellQuote(this.workDir)} && test -w ${shellQuote(this.workDir)}`,
    ])
    if (result.code !== 0)
      throw new Error(`work dir ${this.workDir} is not writable on ${this.id}: ${result.stderr.trim()}`)
  }

  async close(): Promise<void> {
    this.#pool.close()
    // The rsync master connection, if one is open.
    await this.#rsync.close()
  }

  /** `rel` relative to the work dir (checked to stay below it), as the file helper takes it. */
  #relative(rel: string): string {
    return pathPosix.relative(this.workDir, this.absolute(rel)) || '.'
  }
}
