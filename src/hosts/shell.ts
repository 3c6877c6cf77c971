/** Building command lines for `sh`, on this machine or another. */

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
