/**
 * An execution host: where harness processes run and their files live. Paths are relative to the
 * host's work dir. The local machine is one implementation; SSH hosts are another.
 *
 * What a harness leaves below the work dir is not trusted: a task's container writes into the
 * trial's `agent/` and `verifier/` directories (they are bind-mounted into it), and may plant a
 * symbolic link to any file of the host there, or a FIFO, or a device node. So every read below the
 * work dir goes through the host's safe file operations (`safe-files.ts` locally, `safe_files.py`
 * over SSH): no symbolic link is followed in any component of the path, and only regular files are
 * read; anything else is refused with {@link RefusedPathError}, never opened for reading.
 *
 * Harness processes are started detached under `supervise.sh`, so that they outlive the worker that
 * started them, and a later worker re-attaches through {@link ExecutionHost.probe}.
 */
import type { Duplex } from 'node:stream'

export type HarnessProcessState =
  /** Never started in this directory. */
  | { state: 'absent' }
  | { state: 'running' }
  | { state: 'exited'; exitCode: number; startedAtMs: number | null; finishedAtMs: number }
  /** Started, but gone without leaving an exit record (killed, or the host restarted). */
  | { state: 'lost' }

export interface StartOptions {
  /** Directory the command runs in, relative to the work dir. */
  cwd: string
  /** The command's whole environment besides the secrets (nothing is inherited from the worker). */
  env: Record<string, string>
  /** Secrets, handed over through a 0600 file that the supervisor deletes before the command starts. */
  secretEnv: Record<string, string>
}

export interface ExecutionHost {
  readonly id: string
  /** The absolute path of `rel` as processes on the host see it. */
  absolute(rel: string): string
  /** Copies a local directory to `rel` on the host, replacing anything there. */
  putDirectory(localDir: string, rel: string): Promise<void>
  /**
   * Copies `rel` from the host into the local directory `localDir` (created if missing): regular
   * files and directories only (links, devices, FIFOs and sockets are left out and reported), modes
   * without setuid, setgid or sticky bits, within `limits` (enforced while copying). Rejects with
   * code `ENOENT` if `rel` does not exist.
   */
  getDirectory(rel: string, localDir: string, limits: CopyLimits): Promise<CopyReport>
  /**
   * Up to `maxBytes` of regular file `rel` from byte `offset`; `null` if it does not exist.
   * Throws {@link RefusedPathError} for a link (in any component) or anything but a regular file.
   */
  readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null>
  /** The size of regular file `rel` in bytes, or `null` if it does not exist; refuses as `readFrom` does. */
  fileSize(rel: string): Promise<number | null>
  /**
   * The entries of directory `rel` (at most `limit`, the first the directory yields), or `[]` if it
   * does not exist or is a file. Throws {@link RefusedPathError} for a link in its path.
   */
  list(rel: string, limit?: number): Promise<string[]>
  /** Writes a small file `rel` (its directory must exist). */
  writeFile(rel: string, content: string): Promise<void>
  /** Removes `rel` and everything below it; no error if missing. */
  remove(rel: string): Promise<void>
  /** Removes directory `rel` if it is empty; no error if it is missing or not empty. */
  removeIfEmpty(rel: string): Promise<void>
  /**
   * Starts `argv` detached under the supervisor, recording into the new directory `procDir`.
   * Fails with {@link AlreadyStartedError} if `procDir` exists, so a command is never started twice.
   */
  startDetached(procDir: string, argv: readonly string[], options: StartOptions): Promise<void>
  probe(procDir: string): Promise<HarnessProcessState>
  /**
   * Watches directories under `root` for files written, created or removed there, where the host
   * can be told (the local host, by inotify); absent where it cannot, and followers poll instead.
   */
  watch?(root: string, onChange: (rel: string | null) => void): DirWatch
  /**
   * A stream to the Unix socket at absolute path `socketPath` on the host (locally a plain
   * connection; over SSH a stream-local forward on a pooled connection). Closed by the caller.
   */
  openSocket(socketPath: string): Promise<Duplex>
  /** Signals the command (`group: false`) or its whole process group. No error if it is gone. */
  signal(procDir: string, signal: 'SIGTERM' | 'SIGKILL', options?: { group?: boolean }): Promise<void>
}

/** A host as a worker runs it: prepared once, checked regularly, closed at shutdown. */
export interface ManagedHost extends ExecutionHost {
  readonly kind: 'local' | 'ssh'
  /** Where it is, for people: a path or `user@host:port`. */
  readonly address: string
  /** Puts what the harness needs besides itself (our scripts and plugins) on the host. Idempotent. */
  prepare(): Promise<void>
  /** Throws when the host cannot take runs (unreachable, work dir not writable). */
  check(): Promise<void>
  /** Runs a command on the host; never throws on a non-zero exit. */
  exec(
    argv: readonly string[],
    options?: { cwd?: string },
  ): Promise<{ code: number | null; stdout: string; stderr: string }>
  close(): Promise<void>
}

/** The directories a {@link ExecutionHost.watch} watches; closed when the follower stops. */
export interface DirWatch {
  /**
   * Watches exactly these directories (relative to the work dir) from now on. One that does not
   * exist yet is noticed when it is made: its nearest existing parent under the root is watched.
   * Each change is reported as the changed file's path, or null when it cannot be told.
   */
  update(dirs: readonly string[]): void
  close(): void
}

export class AlreadyStartedError extends Error {
  override name = 'AlreadyStartedError'
}

/** Why a path was not read: a symbolic link (in any of its components), or not a regular file. */
export type RefusedKind = 'link' | 'special'

/** A path below the work dir that was not followed or read (see {@link ExecutionHost}). */
export class RefusedPathError extends Error {
  override name = 'RefusedPathError'
  constructor(
    readonly rel: string,
    readonly kind: RefusedKind,
  ) {
    super(`${rel}: ${kind === 'link' ? 'a symbolic link, not followed' : 'not a regular file, not read'}`)
  }
}

/** What {@link ExecutionHost.getDirectory} copies at most. */
export interface CopyLimits {
  /** Bytes of file content in all. */
  maxBytes: number
  /** Entries (files, directories and whatever else is met) looked at: past it the copy stops. */
  maxFiles: number
  /** One file larger than this is left out. */
  maxFileBytes: number
}

/** What {@link ExecutionHost.getDirectory} copied, and what it left out. */
export interface CopyReport {
  files: number
  bytes: number
  /** Paths (relative to the copied directory) left out, and why: the first {@link MAX_REPORTED} of them. */
  leftOut: { path: string; why: LeftOutWhy }[]
  /** How many were left out in all. */
  leftOutCount: number
  /** Set when the copy stopped at `maxFiles`: nothing after that entry was looked at. */
  stoppedAt: number | null
}

export type LeftOutWhy = 'link' | 'special' | 'too large' | 'over the byte limit'

/** Left-out paths named in a {@link CopyReport}. */
export const MAX_REPORTED = 100

/** Environment variable names a harness may receive as secrets. */
export const SECRET_ENV_NAME = /^[A-Z_][A-Z0-9_]*$/

export function formatEnvFile(secretEnv: Record<string, string>): string {
  return Object.entries(secretEnv)
    .map(([key, value]) => {
      if (!SECRET_ENV_NAME.test(key) || /[\r\n\0]/.test(value)) throw new Error(`unsafe secret variable ${key}`)
      return `${key}=${value}\n`
    })
    .join('')
}
