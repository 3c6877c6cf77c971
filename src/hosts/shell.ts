/** Building command lines for `sh`, on this machine or another, and reading probe.sh's answer. */
import type { HarnessProcessState } from './execution-host.js'

/** `arg` as one word for a POSIX shell. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
}

export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ')
}

/** Parses probe.sh's answer into a harness process state. */
export function parseProbe(
  output: string,
):
  | { state: 'absent' }
  | { state: 'running' }
  | { state: 'lost' }
  | { state: 'exited'; exitCode: number; startedAtMs: number | null; finishedAtMs: number; interrupted: boolean } {
  const [word, code, finished, started, extra] = output.trim().split(/\s+/)
  if (word === 'exited') {
    return {
      state: 'exited',
      exitCode: Number.isInteger(Number(code)) ? Number(code) : -1,
      finishedAtMs: Number(finished) || Date.now(),
      startedAtMs: Number(started) || null,
      interrupted: extra === 'interrupted',
    }
  }
  if (word === 'absent' || word === 'running' || word === 'lost') return { state: word }
  throw new Error(`unexpected answer from probe.sh: ${output.slice(0, 200)}`)
}

/**
 * probe.sh's answer as a host reports it: a harness stopped by a service shutdown (`interrupted`)
 * has no result that is the run's, so its attempt counts as lost.
 */
export function probeState(output: string): HarnessProcessState {
  const state = parseProbe(output)
  if (state.state !== 'exited') return state
  if (state.interrupted) return { state: 'lost' }
  const { exitCode, startedAtMs, finishedAtMs } = state
  return { state: 'exited', exitCode, startedAtMs, finishedAtMs }
}
