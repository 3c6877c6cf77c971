/**
 * An execution host: where harness processes run and their files live. Paths are relative to the
 * host's work dir. The local machine is one implementation; SSH hosts are another.
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
  /** Copies `rel` from the host into the local directory `localDir` (created if missing). */
  getDirectory(rel: string, localDir: string): Promise<void>
  /** Up to `maxBytes` of `rel` from byte `offset`; `null` if the file does not exist. */
  readFrom(rel: string, offset: number, maxBytes: number): Promise<Buffer | null>
  /** The size of file `rel` in bytes, or `null` if it does not exist. */
  fileSize(rel: string): Promise<number | null>
  /** The entries of directory `rel`, or `[]` if it does not exist. */
  list(rel: string): Promise<string[]>
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
