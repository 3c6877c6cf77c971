/** CPU seconds by kind of process on the box, from /proc. */
import { readdir, readFile } from 'node:fs/promises'

type KindOf = (pid: number, comm: string, ppid: number, cmdline: string) => string | null

/**
 * CPU seconds spent by each kind of process on the box, from /proc: each process's own time at the
 * last look (processes that live less than a sample apart are counted in their parent once reaped).
 */
export class CpuAccount {
  readonly #seen = new Map<number, { kind: string; ticks: number }>()
  readonly #tick = 100 // USER_HZ on Linux
  #busyAtStart = 0
  #busyNow = 0

  constructor(private readonly kindOf: KindOf) {}

  async sample(): Promise<void> {
    const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number)
    await Promise.all(pids.map((pid) => this.#sampleProcess(pid)))
    const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number)
    const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!
    if (this.#busyAtStart === 0) this.#busyAtStart = busy
    this.#busyNow = busy
  }

  async #sampleProcess(pid: number): Promise<void> {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
    if (!stat) return
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cmdline = this.#seen.has(pid) ? '' : await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    const kind = this.#seen.get(pid)?.kind ?? this.kindOf(pid, comm, Number(f[1]), cmdline)
    if (kind === null) return
    // utime, stime (fields 14, 15; here 11, 12 after pid and comm).
    this.#seen.set(pid, { kind, ticks: Number(f[11]) + Number(f[12]) })
    // The reaped children (cutime, cstime) of a worker and of its launcher: the supervisors, with
    // everything they waited for (the harness and its children). Exact once every run has ended,
    // where sampling the live processes would miss the short-lived ones.
    if (kind === 'worker' || kind === 'launcher')
      this.#seen.set(-pid, { kind: 'harnesses + supervisors (reaped)', ticks: Number(f[13]) + Number(f[14]) })
    // A runner's: its trials' environments (the test sandbox's processes), once they ended.
    if (kind === 'trial runners')
      this.#seen.set(-pid, { kind: 'trial environments (reaped)', ticks: Number(f[13]) + Number(f[14]) })
  }

  /** Seconds per kind since the first sample, and the whole box's busy seconds. */
  totals(since: Map<number, number>): { byKind: Map<string, number>; box: number } {
    const byKind = new Map<string, number>()
    for (const [pid, { kind, ticks }] of this.#seen)
      byKind.set(kind, (byKind.get(kind) ?? 0) + (ticks - (since.get(pid) ?? 0)) / this.#tick)
    return { byKind, box: (this.#busyNow - this.#busyAtStart) / this.#tick }
  }

  snapshot(): Map<number, number> {
    return new Map([...this.#seen].map(([pid, v]) => [pid, v.ticks]))
  }
}

/**
 * An account of the service's processes: its workers (and their launchers), the API, the trial
 * runners, Temporal, PostgreSQL and this script. `runnerPids` fills as the runners are first seen.
 */
export function serviceCpuAccount(workerPids: Set<number | undefined>, apiPid: number | undefined) {
  // The runners and everything below them (their trials' environments: counted once reaped).
  const runnerTree = new Set<number>()
  const runnerPids = new Set<number>()
  const cpu = new CpuAccount((pid, comm, ppid, cmdline) => {
    if (cmdline.includes('harbor_trial_runner')) {
      runnerTree.add(pid)
      runnerPids.add(pid)
      return 'trial runners'
    }
    if (runnerTree.has(ppid)) {
      runnerTree.add(pid)
      return null
    }
    if (workerPids.has(pid)) return 'worker'
    // The helper that starts a worker's harnesses (src/hosts/launcher.ts).
    if (workerPids.has(ppid) && comm === 'node') return 'launcher'
    if (pid === apiPid) return 'api'
    if (pid === process.pid) return 'load clients (this script)'
    if (comm.startsWith('temporal')) return 'temporal dev server'
    if (comm.startsWith('postgres')) return 'postgresql'
    // Counted in their worker's reaped children once they end (see CpuAccount).
    if (comm.startsWith('python') || ['sh', 'flock', 'date', 'mv', 'cat', 'setsid', 'rm'].includes(comm)) return null
    return `other (${comm})`
  })
  return { cpu, runnerPids }
}
