/**
 * What the harness activity reads and writes of an attempt's record on its host (the supervisor's
 * `proc/` files, which a runner keeps too): when it started, whether it exited, and the overdue mark.
 */
import path from 'node:path/posix'
import type { AttemptPaths } from '../harness/driver.js'
import type { ExecutionHost, HarnessProcessState } from '../hosts/execution-host.js'

/** In the attempt's proc dir: the harness was stopped for running past its time limit. */
const OVERDUE_MARK = 'overdue'

/** Leaves the mark that the harness was stopped for running past its time limit, in `phase`. */
export async function writeOverdueMark(host: ExecutionHost, paths: AttemptPaths, phase: string | null): Promise<void> {
  await host.writeFile(path.join(paths.proc, OVERDUE_MARK), JSON.stringify({ at: Date.now(), phase }))
}

/** The mark left when the harness was stopped for running past its time limit, if it was. */
export async function readOverdueMark(
  host: ExecutionHost,
  paths: AttemptPaths,
): Promise<{ phase: string | null } | null> {
  const mark = await host.readFrom(path.join(paths.proc, OVERDUE_MARK), 0, 4096)
  if (!mark) return null
  try {
    return { phase: (JSON.parse(mark.toString('utf8')) as { phase?: string | null }).phase ?? null }
  } catch {
    return { phase: null }
  }
}

/** When the harness started (the supervisor's record), or null if it has not recorded it yet. */
export async function harnessStartedAt(host: ExecutionHost, paths: AttemptPaths): Promise<number | null> {
  const started = Number((await host.readFrom(path.join(paths.proc, 'started'), 0, 64))?.toString().trim())
  return Number.isFinite(started) && started > 0 ? started : null
}

/** The exit record on every call; the (costlier) liveness check only when `full`. */
export async function probeCheaply(
  host: ExecutionHost,
  paths: AttemptPaths,
  full: boolean,
): Promise<HarnessProcessState> {
  if (full) return host.probe(paths.proc)
  const exit = await host.readFrom(path.join(paths.proc, 'exit'), 0, 64)
  return exit && exit.length > 0 ? host.probe(paths.proc) : { state: 'running' }
}
