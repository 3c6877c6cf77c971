/**
 * Harness processes on the local host: started under the supervisor (through the launcher), probed
 * in-process from their proc dir's record, signalled by the pid or process group recorded there.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { AlreadyStartedError, formatEnvFile, type HarnessProcessState, type StartOptions } from '../execution-host.js'
import { launcher } from '../launcher.js'
import { probeState } from '../shell.js'
import { SUPERVISOR_SCRIPT } from '../supervisor-scripts.js'

/** Left in a proc dir by a service shutdown that stopped its harness: the attempt is lost, not scored. */
export const INTERRUPTED = 'interrupted'

/**
 * Starts `argv` under the supervisor in the new proc dir `proc`, in `cwd` (both absolute); `procDir`
 * names it in errors.
 */
export async function startSupervised(
  proc: string,
  procDir: string,
  cwd: string,
  argv: readonly string[],
  options: StartOptions,
): Promise<void> {
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
    cwd,
    env: options.env,
  })
}

/**
 * What probe.sh answers for the proc dir `proc` (absolute), found without starting a process; only
 * a harness about to be declared lost is asked of probe.sh (`byScript`) too.
 */
export async function probeRecord(
  proc: string,
  byScript: (proc: string) => Promise<HarnessProcessState>,
): Promise<HarnessProcessState> {
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
    return byScript(proc)
  }
}

/** Signals the process (or its group) recorded in the proc dir `proc` (absolute); no error if it is gone. */
export async function signalRecorded(proc: string, signal: 'SIGTERM' | 'SIGKILL', group: boolean): Promise<void> {
  const pid = Number((await readText(path.join(proc, group ? 'pgid' : 'pid')))?.trim())
  if (!Number.isInteger(pid) || pid <= 1) return
  try {
    process.kill(group ? -pid : pid, signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

export async function exists(file: string): Promise<boolean> {
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
