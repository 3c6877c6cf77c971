/**
 * Embedded servers record their pid in the data dir. If a previous run of the service was killed
 * without stopping them, the next start finds them through that record and stops them first.
 */
import { promises as fs } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** Stops the process recorded in `pidFile` if it is still alive and its command line contains `marker`. */
export async function stopStaleProcess(
  pidFile: string,
  marker: string,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const text = await fs.readFile(pidFile, 'utf8').catch(() => null)
  const pid = Number(text?.split('\n')[0]?.trim())
  if (!Number.isInteger(pid) || pid <= 1) return
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null)
  if (cmdline === null || !cmdline.includes(marker)) return
  process.kill(pid, signal)
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100)
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
