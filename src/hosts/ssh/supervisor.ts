/** The shell commands that start, probe and signal a harness under the supervisor on an SSH host. */
import pathPosix from 'node:path/posix'
import { shellCommand, shellQuote } from '../shell.js'

/**
 * One script: makes the proc dir (atomically: of two workers racing here, exactly one starts the
 * command; the other's script exits 75), writes the secrets file from stdin with mode 0600, and
 * starts the supervisor detached from the SSH session, so that a dropped connection or a dead worker
 * does not end it. `proc` and `cwd` are absolute.
 */
export function startScript(options: {
  toolsDir: string
  proc: string
  envFile: string
  cwd: string
  env: Record<string, string>
  argv: readonly string[]
}): string {
  const { proc, envFile } = options
  const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`)
  const supervised = ['setsid', 'sh', pathPosix.join(options.toolsDir, 'supervise.sh'), proc, envFile, ...options.argv]
  // Nothing of the login session's environment but the remote user's HOME (unless one was given).
  const home = 'HOME' in options.env ? '' : 'HOME="$HOME" '
  return [
    `mkdir -p ${shellQuote(pathPosix.dirname(proc))} || exit 1`,
    `mkdir ${shellQuote(proc)} 2>/dev/null || exit 75`,
    `(umask 077 && cat > ${shellQuote(envFile)}) || exit 1`,
    `cd ${shellQuote(options.cwd)} || exit 1`,
    `env -i ${home}${shellCommand([...env, ...supervised])} </dev/null >/dev/null 2>&1 &`,
  ].join('\n')
}

/** The start script's exit code when the proc dir exists: the command was started before. */
export const ALREADY_STARTED = 75

/** probe.sh on the proc dir `proc` (absolute). */
export function probeCommand(toolsDir: string, proc: string): string[] {
  return ['sh', pathPosix.join(toolsDir, 'probe.sh'), proc]
}

/** Signals the process (or its group) recorded in the proc dir `proc` (absolute); no error if it is gone. */
export function signalCommand(proc: string, signal: 'SIGTERM' | 'SIGKILL', group: boolean): string[] {
  const file = pathPosix.join(proc, group ? 'pgid' : 'pid')
  const target = group ? `-"$(cat ${shellQuote(file)})"` : `"$(cat ${shellQuote(file)})"`
  // The kill program, not the shell's: dash's builtin takes neither `--` nor a process group.
  return ['sh', '-c', `[ -f ${shellQuote(file)} ] && env kill -s ${signal.slice(3)} -- ${target} 2>/dev/null; true`]
}
