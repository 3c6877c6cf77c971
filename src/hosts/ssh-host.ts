/**
 * An execution host reached over SSH (key auth): commands through a small pool of reused
 * connections (OpenSSH allows 10 sessions per connection by default); file reads through a small
 * Python helper on each of those connections (remote-files.ts: it never follows a link, as SFTP
 * would), and the harness's output copied back through the same helper as a tar stream; the task
 * copied there with `rsync` over `ssh` (which shares one master connection per host). The
 * supervisor and probe scripts, and our Harbor plugins, are copied into `<work dir>/.harbor-runner/`
 * by {@link SshHost.prepare}.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pathPosix from 'node:path/posix'
import type { Duplex } from 'node:stream'
import { execa } from 'execa'
import { NodeSSH } from 'node-ssh'
import type { ClientChannel } from 'ssh2'
import type { HostConfig } from '../config.js'
import { HARNESS_PLUGINS_DIR } from '../paths.js'
import {
  AlreadyStartedError,
  formatEnvFile,
  type CopyLimits,
  type CopyReport,
  type HarnessProcessState,
  type ManagedHost,
  type StartOptions,
} from './execution-host.js'
import { knownHostsName, type KnownHosts } from './known-hosts.js'
import { PROBE_SCRIPT, SUPERVISOR_SCRIPT } from './local-host.js'
import { checkAnswer, RemoteFiles, safeFilesCommand, unpackTree, type Answer, type Request } from './remote-files.js'
import { probeState, shellCommand, shellQuote } from './shell.js'

/** Channels (commands and the file helper) one connection carries at once, below OpenSSH's MaxSessions 10. */
const CHANNELS_PER_CONNECTION = 8

interface PooledConnection {
  ssh: NodeSSH
  /** The file helper on this connection (remote-files.ts), started on first use. */
  files: Promise<RemoteFiles> | null
  inUse: number
}

export class SshHost implements ManagedHost {
  readonly kind = 'ssh'
  readonly id: string
  readonly workDir: string
  readonly #ssh: NonNullable<HostConfig['ssh']>
  readonly #pool: (PooledConnection | null)[]
  readonly #connecting = new Map<number, Promise<PooledConnection>>()
  /** Where the supervisor, the probe and our harness plugins live on the host. */
  readonly toolsDir: string

  constructor(
    config: HostConfig,
    private readonly knownHosts: KnownHosts,
  ) {
    if (!config.ssh) throw new Error(`host ${config.id} is not an SSH host`)
    this.id = config.id
    this.workDir = config.workDir
    this.#ssh = config.ssh
    this.toolsDir = pathPosix.join(config.workDir, '.harbor-runner')
    // A few connections for a host with many slots: each run holds at most one channel at a time.
    this.#pool = new Array(Math.max(1, Math.ceil(config.slots / CHANNELS_PER_CONNECTION))).fill(null)
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
    await this.#rsync([SUPERVISOR_SCRIPT, PROBE_SCRIPT], `${this.toolsDir}/`)
    await this.#rsync([`${HARNESS_PLUGINS_DIR}/`], `${this.toolsDir}/harness-plugins/`, [
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
    return this.#withConnection(async (c) => {
      const command = options.cwd ? `cd ${shellQuote(options.cwd)} && ${shellCommand(argv)}` : shellCommand(argv)
      const result = await c.ssh.execCommand(command)
      return { code: result.code, stdout: result.stdout, stderr: result.stderr }
    })
  }

  async putDirectory(localDir: string, rel: string): Promise<void> {
    const target = this.absolute(rel)
    await this.#rsync([`${localDir}/`], `${target}/`, ['--delete', '--mkpath'])
  }

  async getDirectory(rel: string, localDir: string, limits: CopyLimits): Promise<CopyReport> {
    await fs.mkdir(localDir, { recursive: true })
    const command = safeFilesCommand(
      'pack',
      this.workDir,
      this.#relative(rel),
      String(limits.maxBytes),
      String(limits.maxFiles),
      String(limits.maxFileBytes),
    )
    return this.#withConnection(async (c) => unpackTree(await openChannel(c, command), rel, this.id, localDir))
  }

  async readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null> {
    const { answer, data } = await this.#files({ op: 'read', path: this.#relative(rel), offset, max: maxBytes })
    return answer.missing ? null : data
  }

  async fileSize(rel: string): Promise<number | null> {
    const { answer } = await this.#files({ op: 'size', path: this.#relative(rel) })
    return answer.missing ? null : (answer.size ?? null)
  }

  async list(rel: string, limit?: number): Promise<string[]> {
    const { answer } = await this.#files({ op: 'list', path: this.#relative(rel), limit: limit ?? null })
    return answer.names ?? []
  }

  async writeFile(rel: string, content: string): Promise<void> {
    await this.#files({ op: 'write', path: this.#relative(rel), data: content })
  }

  async remove(rel: string): Promise<void> {
    const result = await this.exec(['rm', '-rf', '--', this.absolute(rel)])
    if (result.code !== 0) throw new Error(`rm on ${this.id} failed: ${result.stderr.trim()}`)
  }

  async removeIfEmpty(rel: string): Promise<void> {
    await this.#files({ op: 'rmdir', path: this.#relative(rel) })
  }

  /**
   * One round trip: makes the proc dir (atomically: of two workers racing here, exactly one starts
   * the command), writes the secrets file from stdin with mode 0600, and starts the supervisor
   * detached from this SSH session, so that a dropped connection or a dead worker does not end it.
   */
  async startDetached(procDir: string, argv: readonly string[], options: StartOptions): Promise<void> {
    const proc = this.absolute(procDir)
    const envFile = pathPosix.join(proc, `env-${randomUUID()}`)
    const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`)
    const supervised = ['setsid', 'sh', pathPosix.join(this.toolsDir, 'supervise.sh'), proc, envFile, ...argv]
    // Nothing of the login session's environment but the remote user's HOME (unless one was given).
    const home = 'HOME' in options.env ? '' : 'HOME="$HOME" '
    const script = [
      `mkdir -p ${shellQuote(pathPosix.dirname(proc))} || exit 1`,
      `mkdir ${shellQuote(proc)} 2>/dev/null || exit 75`,
      `(umask 077 && cat > ${shellQuote(envFile)}) || exit 1`,
      `cd ${shellQuote(this.absolute(options.cwd))} || exit 1`,
      `env -i ${home}${shellCommand([...env, ...supervised])} </dev/null >/dev/null 2>&1 &`,
    ].join('\n')
    const started = await this.#withConnection((c) =>
      c.ssh.execCommand(shellCommand(['sh', '-c', script]), { stdin: formatEnvFile(options.secretEnv) }),
    )
    if (started.code === 75) throw new AlreadyStartedError(`${procDir} exists on ${this.id}`)
    if (started.code !== 0) throw new Error(`starting the harness on ${this.id} failed: ${started.stderr.trim()}`)
  }

  async probe(procDir: string): Promise<HarnessProcessState> {
    const result = await this.exec(['sh', pathPosix.join(this.toolsDir, 'probe.sh'), this.absolute(procDir)])
    if (result.code !== 0) throw new Error(`probe on ${this.id} failed: ${result.stderr.trim()}`)
    return probeState(result.stdout)
  }

  /** A stream-local forward (OpenSSH's `direct-streamlocal@openssh.com`), on a pooled connection. */
  async openSocket(socketPath: string): Promise<Duplex> {
    return this.#withConnection(
      (c) =>
        new Promise<Duplex>((resolve, reject) => {
          const client = c.ssh.connection
          if (!client) return reject(new Error(`not connected to ${this.id}`))
          client.openssh_forwardOutStreamLocal(socketPath, (err, stream) => (err ? reject(err) : resolve(stream)))
        }),
    )
  }

  async signal(procDir: string, signal: 'SIGTERM' | 'SIGKILL', options: { group?: boolean } = {}): Promise<void> {
    const file = pathPosix.join(this.absolute(procDir), options.group ? 'pgid' : 'pid')
    const target = options.group ? `-"$(cat ${shellQuote(file)})"` : `"$(cat ${shellQuote(file)})"`
    // The kill program, not the shell's: dash's builtin takes neither `--` nor a process group.
    await this.exec([
      'sh',
      '-c',
      `[ -f ${shellQuote(file)} ] && env kill -s ${signal.slice(3)} -- ${target} 2>/dev/null; true`,
    ])
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
    for (const [i, c] of this.#pool.entries()) {
      this.#pool[i] = null
      c?.ssh.dispose()
    }
    // The rsync master connection, if one is open.
    await execa('ssh', [...this.#sshOptions(), '-O', 'exit', this.#target()], { reject: false })
  }

  /** `rel` relative to the work dir (checked to stay below it), as the file helper takes it. */
  #relative(rel: string): string {
    return pathPosix.relative(this.workDir, this.absolute(rel)) || '.'
  }

  /** One request to the file helper of a pooled connection (started again, once, if it had ended). */
  async #files(request: Request): Promise<{ answer: Answer; data: Buffer }> {
    return this.#withConnection(async (c) => {
      for (let tries = 0; ; tries++) {
        const files = await this.#helper(c)
        try {
          const result = await files.ask(request)
          checkAnswer(this.id, request, result.answer)
          return result
        } catch (err) {
          if (!files.ended || tries > 0) throw err
        }
      }
    })
  }

  async #helper(c: PooledConnection): Promise<RemoteFiles> {
    const current = c.files
    const files = current ? await current.catch(() => null) : null
    if (files && !files.ended) return files
    if (c.files === current) {
      c.files = openChannel(c, safeFilesCommand('serve', this.workDir)).then((ch) => new RemoteFiles(ch, this.id))
      // A failed start is forgotten: the next request tries again.
      c.files.catch(() => undefined)
    }
    return c.files!.catch((err: unknown) => {
      c.files = null
      throw err
    })
  }

  /** The least busy live connection of the pool (connected on demand), for the duration of `fn`. */
  async #withConnection<T>(fn: (c: PooledConnection) => Promise<T>): Promise<T> {
    const index = this.#pool.reduce((best, c, i) => ((c?.inUse ?? 0) < (this.#pool[best]?.inUse ?? 0) ? i : best), 0)
    const c = await this.#connection(index)
    c.inUse++
    try {
      return await fn(c)
    } catch (err) {
      if (!c.ssh.isConnected()) this.#drop(index, c)
      throw err
    } finally {
      c.inUse--
    }
  }

  #connection(index: number): Promise<PooledConnection> {
    const existing = this.#pool[index]
    if (existing?.ssh.isConnected()) return Promise.resolve(existing)
    if (existing) this.#drop(index, existing)
    let pending = this.#connecting.get(index)
    if (!pending) {
      pending = this.#connect().then(
        (c) => {
          this.#pool[index] = c
          this.#connecting.delete(index)
          c.ssh.connection?.once('close', () => this.#drop(index, c))
          // A connection reset (the host went away) is an 'error' before that 'close': not a crash.
          c.ssh.connection?.on('error', () => {})
          return c
        },
        (err: unknown) => {
          this.#connecting.delete(index)
          throw err
        },
      )
      this.#connecting.set(index, pending)
    }
    return pending
  }

  #drop(index: number, c: PooledConnection): void {
    if (this.#pool[index] === c) this.#pool[index] = null
    c.ssh.dispose()
  }

  async #connect(): Promise<PooledConnection> {
    const ssh = new NodeSSH()
    const name = knownHostsName(this.#ssh.hostname, this.#ssh.port)
    await ssh.connect({
      host: this.#ssh.hostname,
      port: this.#ssh.port,
      username: this.#ssh.user,
      privateKeyPath: this.#ssh.keyFile,
      readyTimeout: 15_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        this.knownHosts.verify(name, key).then(verify, () => verify(false))
      },
    } as Parameters<NodeSSH['connect']>[0])
    return { ssh, files: null, inUse: 0 }
  }

  #target(): string {
    return `${this.#ssh.user}@${this.#ssh.hostname}`
  }

  /** Options of OpenSSH's client for rsync: same key, same known hosts, one shared master connection. */
  #sshOptions(): string[] {
    return [
      '-p',
      String(this.#ssh.port),
      '-i',
      this.#ssh.keyFile,
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${this.knownHosts.file}`,
      '-o',
      `StrictHostKeyChecking=${this.knownHosts.strict ? 'yes' : 'accept-new'}`,
      '-o',
      'ConnectTimeout=15',
      '-o',
      'ServerAliveInterval=15',
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${controlDir()}/%C`,
      '-o',
      'ControlPersist=60',
    ]
  }

  #sshCommand(): string {
    return shellCommand(['ssh', ...this.#sshOptions()])
  }

  async #rsync(sources: string[], target: string, extra: string[] = []): Promise<void> {
    await ensureControlDir()
    const result = await execa(
      'rsync',
      ['-a', ...extra, '-e', this.#sshCommand(), ...sources, `${this.#target()}:${target}`],
      {
        reject: false,
      },
    )
    if (result.exitCode !== 0)
      throw new Error(`rsync to ${this.id} failed (${result.exitCode}): ${result.stderr.trim()}`)
  }
}

/** Short, private: a unix socket path must stay under about 100 characters. */
function controlDir(): string {
  return path.join(os.tmpdir(), `hr-ssh-${process.getuid?.() ?? 'u'}`)
}

/** Made before every use: a tmp cleaner may have removed it since the last. */
async function ensureControlDir(): Promise<void> {
  await fs.mkdir(controlDir(), { recursive: true, mode: 0o700 })
}

/** A command's channel on a pooled connection. */
function openChannel(c: PooledConnection, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const client = c.ssh.connection
    if (!client) return reject(new Error('not connected'))
    client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)))
  })
}
