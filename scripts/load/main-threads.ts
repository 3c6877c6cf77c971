/** Where the main threads' time went: CPU run and waited for (schedstat), and event-loop lag. */
import { readFile } from 'node:fs/promises'

/**
 * Event-loop delay is measured with a timer of this period (prom-client's too), and includes it:
 * what lies beyond it is the lag.
 */
export const LOOP_TIMER_MS = 10

export interface Sched {
  ran: number
  waited: number
}

export type SchedPids = Record<'api' | 'worker' | 'clients', number | undefined>

/**
 * A process's main thread (its event loop): seconds run on a CPU and seconds spent runnable but
 * waiting for one (the kernel's schedstat), since it started.
 */
export async function mainThreadSched(pid: number | undefined): Promise<Sched> {
  const text = pid ? await readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => '') : ''
  const [ran, waited] = text.split(' ').map(Number)
  return { ran: (ran ?? NaN) / 1e9, waited: (waited ?? NaN) / 1e9 }
}

export async function schedOf(pids: SchedPids): Promise<Record<keyof SchedPids, Sched>> {
  return {
    api: await mainThreadSched(pids.api),
    worker: await mainThreadSched(pids.worker),
    clients: await mainThreadSched(pids.clients),
  }
}

/** The API's event-loop lag percentiles since its metrics were last scraped, in ms. */
export async function apiLoopDelay(base: string): Promise<{ p50: number; p99: number }> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const read = (q: string) =>
    Number(new RegExp(`^nodejs_eventloop_lag_${q}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000
  return { p50: read('p50') - LOOP_TIMER_MS, p99: read('p99') - LOOP_TIMER_MS }
}
