/** Every harness still running under a local host's work dir stopped (the all-in-one command's Ctrl-C). */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { HOST_RUNNERS_DIR } from '../../shared/ids.js'
import { RefusedPathError, type ExecutionHost } from '../execution-host.js'
import { exists, INTERRUPTED } from './processes.js'

/** What of the local host stopping its harnesses takes. */
type StoppingHost = Pick<ExecutionHost, 'list' | 'probe' | 'signal'> & { resolve(rel: string): string }

/**
 * SIGTERM first, SIGKILL to the group after `graceMs`. Each is marked interrupted, so its attempt is
 * retried rather than scored (a runner marks its own attempts). Returns how many processes it stopped.
 */
export async function stopAllHarnesses(host: StoppingHost, graceMs: number): Promise<number> {
  const running: string[] = []
  for (const proc of await supervisorRecords(host)) {
    // An attempt in a runner has no process of its own: its runner stops it.
    if ((await exists(path.join(host.resolve(proc), 'runner'))) || (await host.probe(proc)).state !== 'running')
      continue
    await fs.writeFile(path.join(host.resolve(proc), INTERRUPTED), '')
    await host.signal(proc, 'SIGTERM')
    running.push(proc)
  }
  const deadline = Date.now() + graceMs
  for (const proc of running) {
    while ((await host.probe(proc)).state === 'running' && Date.now() < deadline) await sleep(200)
    await host.signal(proc, 'SIGKILL', { group: true })
  }
  return running.length
}

/**
 * Supervisors' records (`runs/<job>/run-<n>/attempt-<a>/proc`, `.runners/<id>/proc`), looked for
 * no deeper, and not below a directory that has one: below lies what a harness wrote.
 */
async function supervisorRecords(host: StoppingHost): Promise<string[]> {
  const procs: string[] = []
  const look = async (dir: string, depth: number): Promise<void> => {
    const names = await host.list(dir).catch((err: unknown): string[] => {
      if (err instanceof RefusedPathError) return []
      throw err
    })
    if (names.includes('proc')) return void procs.push(path.join(dir, 'proc'))
    if (depth > 0) for (const name of names) await look(path.join(dir, name), depth - 1)
  }
  await look('runs', 3)
  await look(HOST_RUNNERS_DIR, 1)
  return procs
}
