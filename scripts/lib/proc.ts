/** What the benchmarks read about processes from /proc (Linux). */
import { readdir, readFile } from 'node:fs/promises'

/** USER_HZ on Linux. */
const TICKS = 100

/** CPU seconds (user + system) of a process itself, and of its children it has waited for. */
export async function cpuOf(pid: number): Promise<{ self: number; reaped: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
  if (!stat) return { self: NaN, reaped: NaN }
  // Fields after "pid (comm) ": utime stime cutime cstime are the 12th to 15th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { self: (Number(f[11]) + Number(f[12])) / TICKS, reaped: (Number(f[13]) + Number(f[14])) / TICKS }
}

/** Resident memory in MiB, or NaN when the process is gone. */
export async function residentMiB(pid: number | undefined): Promise<number> {
  if (!pid) return NaN
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1]
  return kb ? Number(kb) / 1024 : NaN
}

/** Every live process below `pid` (children, their children, …). */
export async function descendantsOf(pid: number): Promise<number[]> {
  const parentOf = new Map<number, number>()
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => null)
    if (stat) parentOf.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
  }
  const below = new Set<number>([pid])
  let grew = true
  while (grew) {
    grew = false
    for (const [child, parent] of parentOf) {
      if (below.has(parent) && !below.has(child)) {
        below.add(child)
        grew = true
      }
    }
  }
  below.delete(pid)
  return [...below]
}

/** The sum of `read` over the processes. */
export async function sumOver(pids: readonly number[], read: (pid: number) => Promise<number>): Promise<number> {
  const values = await Promise.all(pids.map(read))
  return values.filter(Number.isFinite).reduce((a, b) => a + b, 0)
}
