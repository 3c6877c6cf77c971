/**
 * A small pool of reused SSH connections to one host (key auth; the host's key checked against the
 * known hosts): each call borrows the least busy live connection, connected on demand and dropped
 * when it closes. OpenSSH allows 10 sessions per connection by default.
 */
import { NodeSSH } from 'node-ssh'
import { knownHostsName, type KnownHosts } from '../known-hosts.js'
import type { RemoteFiles } from '../remote-files.js'

/** Where an SSH host is and how to log in there. */
export interface SshTarget {
  readonly user: string
  readonly hostname: string
  readonly port: number
  /** The private key, on this machine. */
  readonly keyFile: string
}

/** Channels (commands and the file helper) one connection carries at once, below OpenSSH's MaxSessions 10. */
const CHANNELS_PER_CONNECTION = 8

export interface PooledConnection {
  ssh: NodeSSH
  /** The file helper on this connection (remote-files.ts), started on first use. */
  files: Promise<RemoteFiles> | null
  inUse: number
}

export class SshConnectionPool {
  readonly #pool: (PooledConnection | null)[]
  readonly #connecting = new Map<number, Promise<PooledConnection>>()

  constructor(
    private readonly target: SshTarget,
    private readonly knownHosts: KnownHosts,
    slots: number,
  ) {
    // A few connections for a host with many slots: each run holds at most one channel at a time.
    this.#pool = new Array(Math.max(1, Math.ceil(slots / CHANNELS_PER_CONNECTION))).fill(null)
  }

  /** The least busy live connection of the pool (connected on demand), for the duration of `fn`. */
  async withConnection<T>(fn: (c: PooledConnection) => Promise<T>): Promise<T> {
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

  /** Disconnects every pooled connection. */
  close(): void {
    for (const [i, c] of this.#pool.entries()) {
      this.#pool[i] = null
      c?.ssh.dispose()
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
    const name = knownHostsName(this.target.hostname, this.target.port)
    await ssh.connect({
      host: this.target.hostname,
      port: this.target.port,
      username: this.target.user,
      privateKeyPath: this.target.keyFile,
      readyTimeout: 15_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        this.knownHosts.verify(name, key).then(verify, () => verify(false))
      },
    } as Parameters<NodeSSH['connect']>[0])
    return { ssh, files: null, inUse: 0 }
  }
}
