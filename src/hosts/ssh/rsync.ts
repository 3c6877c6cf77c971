/**
 * Copies to an SSH host with `rsync` over OpenSSH's `ssh` (the task, our scripts and plugins):
 * the same key and known hosts as the pool, and one master connection per host shared by every copy.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import type { KnownHosts } from '../known-hosts.js'
import { shellCommand } from '../shell.js'
import type { SshTarget } from './connection-pool.js'

export class Rsync {
  constructor(
    private readonly target: SshTarget,
    private readonly knownHosts: KnownHosts,
    private readonly hostId: string,
  ) {}

  /** `rsync -a <extra> <sources> user@host:<dest>`; throws when it fails. */
  async copy(sources: string[], dest: string, extra: string[] = []): Promise<void> {
    await ensureControlDir()
    const result = await execa(
      'rsync',
      ['-a', ...extra, '-e', this.#sshCommand(), ...sources, `${this.#login()}:${dest}`],
      {
        reject: false,
      },
    )
    if (result.exitCode !== 0)
      throw new Error(`rsync to ${this.hostId} failed (${result.exitCode}): ${result.stderr.trim()}`)
  }

  /** Ends the master connection, if one is open. */
  async close(): Promise<void> {
    await execa('ssh', [...this.#sshOptions(), '-O', 'exit', this.#login()], { reject: false })
  }

  #login(): string {
    return `${this.target.user}@${this.target.hostname}`
  }

  /** Options of OpenSSH's client for rsync: same key, same known hosts, one shared master connection. */
  #sshOptions(): string[] {
    return [
      '-p',
      String(this.target.port),
      '-i',
      this.target.keyFile,
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
}

/** Short, private: a unix socket path must stay under about 100 characters. */
function controlDir(): string {
  return path.join(os.tmpdir(), `hr-ssh-${process.getuid?.() ?? 'u'}`)
}

/** Made before every use: a tmp cleaner may have removed it since the last. */
async function ensureControlDir(): Promise<void> {
  await fs.mkdir(controlDir(), { recursive: true, mode: 0o700 })
}
