/**
 * The load itself: `runs` runs submitted at once, followed, polled and sampled until they end,
 * with the service's CPU, main threads and event loops measured from submission to the end.
 */
import type http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Db } from '../../src/db/database.js'
import type { BenchService } from '../lib/service.js'
import { serviceCpuAccount, type CpuAccount } from './cpu-account.js'
import { apiLoopDelay, LOOP_TIMER_MS, schedOf, type Sched, type SchedPids } from './main-threads.js'
import type { LoadOptions } from './options.js'
import { logRows, sampleUntilDone, type ResourceSamples } from './sampler.js'
import { followRuns, openJobPages, type SseSample } from './sse-probe.js'
import { emptyPollSamples, startHttpPoller, startPollers, type PollSamples } from './status-probe.js'
import { submitLoad, type Upload } from './submitter.js'

export interface LoadRun {
  /** When the load was submitted, and how long its uploads took (ms). */
  t0: number
  submitted: number
  jobIds: string[]
  /** Seconds from submission to the last run's end. */
  makespan: number
  samples: ResourceSamples
  sseDelays: SseSample[]
  polls: PollSamples
  jobPageEvents: number[]
  apiLoop: { p50: number; p99: number }
  /** This script's own event-loop lag, in ms. */
  ownLoop: { p50: number; p99: number }
  schedBase: Record<keyof SchedPids, Sched>
  schedEnd: Record<keyof SchedPids, Sched>
  cpu: CpuAccount
  cpuBase: Map<number, number>
}

export async function runLoad(
  service: BenchService,
  db: Db,
  opts: LoadOptions,
  upload: Upload,
  bigJob: string,
): Promise<LoadRun> {
  const { base, api, workers } = service
  const seqBefore = await logRows(db)
  const { cpu, runnerPids } = serviceCpuAccount(new Set(workers.map((w) => w.pid)), api.pid)
  await cpu.sample()
  const cpuBase = cpu.snapshot()
  // Event-loop delays while the load runs: the API's (read from its metrics, which restart at each
  // scrape) and this script's own, since its clients time the API from a process on the same box.
  await apiLoopDelay(base)
  const ownLoop = monitorEventLoopDelay({ resolution: LOOP_TIMER_MS })
  ownLoop.enable()
  const schedPids = { api: api.pid, worker: workers[0]!.pid, clients: process.pid }
  const schedBase = await schedOf(schedPids)
  const t0 = Date.now()
  const jobIds = await submitLoad(upload, opts.runs, opts.jobSize, `load/d${opts.duration}-r${opts.rate}`)
  const submitted = Date.now() - t0
  const stop = new AbortController()
  const probes = startProbes(base, bigJob, jobIds, opts, stop.signal)
  const procs = { workerPids: workers.map((w) => w.pid), apiPid: api.pid, runnerPids, cpu }
  const samples = await sampleUntilDone(db, procs, { ...opts, jobIds, t0, seqBefore })
  const makespan = await makespanOf(db, jobIds, t0)
  stop.abort()
  await Promise.allSettled(probes.running)
  probes.agent.destroy()
  ownLoop.disable()
  const lag = (p: number) => ownLoop.percentile(p) / 1e6 - LOOP_TIMER_MS
  const own = { p50: lag(50), p99: lag(99) }
  const apiLoop = await apiLoopDelay(base)
  const schedEnd = await schedOf(schedPids)
  const { sseDelays, polls, jobPageEvents } = probes
  const loops = { apiLoop, ownLoop: own, schedBase, schedEnd }
  return { t0, submitted, jobIds, makespan, samples, sseDelays, polls, jobPageEvents, ...loops, cpu, cpuBase }
}

/** The load's clients: runs' log streams, job pages, status polls; each records into what it returns. */
function startProbes(base: string, bigJob: string, jobIds: string[], opts: LoadOptions, stop: AbortSignal) {
  const sseDelays: SseSample[] = []
  const followers = followRuns(base, jobIds, Math.min(opts.follow, opts.runs), sseDelays, stop)
  const jobPageEvents: number[] = Array.from({ length: opts.jobPages }, () => 0)
  const jobPages = openJobPages(base, jobIds, jobPageEvents, stop)
  const polls = emptyPollSamples()
  const pollers = startPollers(base, bigJob, jobIds, opts.pollers, polls, stop)
  const httpPoller = startHttpPoller(base, bigJob, polls.bigPollHttp, stop)
  const agent: http.Agent = httpPoller.agent
  return { sseDelays, jobPageEvents, polls, agent, running: [...followers, ...pollers, httpPoller.done, ...jobPages] }
}

/** Seconds from `t0` to the last of the jobs' runs to finish. */
async function makespanOf(db: Db, jobIds: string[], t0: number): Promise<number> {
  const lastFinish = await db
    .selectFrom('runs')
    .select((eb) => eb.fn.max('finished_at').as('t'))
    .where('job_id', 'in', jobIds)
    .executeTakeFirstOrThrow()
  return (new Date(lastFinish.t as Date).getTime() - t0) / 1000
}
