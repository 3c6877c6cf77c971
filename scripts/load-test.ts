/**
 * Load test (not a test of correctness): the service's cost at scale, with the real warm harness and
 * a stand-in agent.
 *
 *   npm run load -- [--runs 600] [--slots 600] [--duration 120] [--rate 5] [--workers 1]
 *                   [--follow 20] [--pollers 5] [--job-size 100] [--job-pages 0] [--profile DIR]
 *
 * Starts the whole service on throwaway embedded PostgreSQL and Temporal dev server: the API and
 * `--workers` worker processes (each serving its own local host with slots/workers slots, run by
 * its warm trial runners: real Harbor trials in the test environment), with the load tests'
 * stand-in agent (test/load/harbor_load_agent.py: a real Harbor agent by import path that writes
 * `--rate` log lines a second for `--duration` seconds, and a trajectory, calling no model). Then:
 *   1. upload → harness start on the idle service (a few single-run jobs, one after another);
 *   2. `--runs` runs in jobs of at most 100 runs, all at once; while they run it follows `--follow`
 *      runs' SSE streams (each line carries the time the harness wrote it), polls
 *      `GET /api/jobs/{id}` of a 1000-run job and of the load's jobs like dashboards would, and
 *      samples the processes' resident memory and the log rows written;
 *   3. prints one table: makespan / ideal (ceil(N/C) × D), latencies as median and p95, memory, rows/s.
 */
import { randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createDb } from '../src/db/database.js'
import { insertJobWithRuns } from '../src/db/jobs.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { connectTemporalClient } from '../src/temporal/client.js'
import { runWorkflowId } from '../src/shared/ids.js'
import { readSse } from '../test/helpers/api-client.js'
import { LOAD_AGENT } from '../test/helpers/runners.js'
import { zipDirectory } from '../test/helpers/task-zips.js'
import { descendantsOf, residentMiB, sumOver } from './lib/proc.js'
import { startBenchService } from './lib/service.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '600' },
    slots: { type: 'string', default: '600' },
    duration: { type: 'string', default: '120' },
    rate: { type: 'string', default: '5' },
    workers: { type: 'string', default: '1' },
    follow: { type: 'string', default: '20' },
    pollers: { type: 'string', default: '5' },
    // Job pages held open (GET /api/jobs/{id}/events), one per load job in turn.
    'job-pages': { type: 'string', default: '0' },
    // Runs per job: the load is submitted as ceil(runs / job-size) jobs.
    'job-size': { type: 'string', default: '100' },
    // Writes a V8 CPU profile of each worker (and the API) into this directory when they stop.
    profile: { type: 'string' },
  },
})
const N = Number(values.runs)
const C = Number(values.slots)
const D = Number(values.duration)
const RATE = Number(values.rate)
const WORKERS = Number(values.workers)
const FOLLOW = Number(values.follow)
const POLLERS = Number(values.pollers)
const JOB_SIZE = Number(values['job-size'])
const JOB_PAGES = Number(values['job-pages'])

/**
 * Event-loop delay is measured with a timer of this period (prom-client's too), and includes it:
 * what lies beyond it is the lag.
 */
const LOOP_TIMER_MS = 10

/** A log line an SSE client received: when the harness wrote it, and how long it took to arrive. */
interface SseSample {
  writtenAt: number
  delay: number
  /** Of which until its transaction in the worker's log writer began (the row's created_at). */
  toStored: number
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}
function stats(values: number[]) {
  const s = [...values].sort((a, b) => a - b)
  return { n: s.length, median: quantile(s, 0.5), p95: quantile(s, 0.95), max: s.at(-1) ?? NaN }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A process's main thread (its event loop): seconds run on a CPU and seconds spent runnable but
 * waiting for one (the kernel's schedstat), since it started.
 */
async function mainThreadSched(pid: number | undefined): Promise<{ ran: number; waited: number }> {
  const text = pid ? await readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => '') : ''
  const [ran, waited] = text.split(' ').map(Number)
  return { ran: (ran ?? NaN) / 1e9, waited: (waited ?? NaN) / 1e9 }
}

/**
 * CPU seconds spent by each kind of process on the box, from /proc: each process's own time at the
 * last look (processes that live less than a sample apart are counted in their parent once reaped).
 */
class CpuAccount {
  readonly #seen = new Map<number, { kind: string; ticks: number }>()
  readonly #tick = 100 // USER_HZ on Linux
  #busyAtStart = 0
  #busyNow = 0

  constructor(private readonly kindOf: (pid: number, comm: string, ppid: number, cmdline: string) => string | null) {}

  async sample(): Promise<void> {
    const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number)
    await Promise.all(
      pids.map(async (pid) => {
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
      }),
    )
    const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number)
    const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!
    if (this.#busyAtStart === 0) this.#busyAtStart = busy
    this.#busyNow = busy
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

async function main() {
  // (--cpu-prof is refused in NODE_OPTIONS: it goes on the command line.)
  const nodeArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : []
  const service = await startBenchService({ workers: WORKERS, slots: C, nodeArgs })
  const { base, config, infra, api, workers } = service
  const dbh = createDb(infra.databaseUrl)
  const zip = await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))

  const upload = async (nRuns: number, model: string) => {
    const form = new FormData()
    form.append('file', new Blob([zip], { type: 'application/zip' }), 'task.zip')
    // hello-pass gives its agent 120 s: enough room for the stand-in's --duration.
    const timeout_multiplier = String(Math.max(1, Math.ceil((D + 60) / 120)))
    const fields = {
      model,
      agent: LOAD_AGENT,
      openrouter_key: 'sk-load-unused',
      n_runs: String(nRuns),
      timeout_multiplier,
    }
    for (const [k, v] of Object.entries({ ...fields, max_parallel: String(nRuns) })) form.append(k, v)
    const res = await fetch(`${base}/api/upload`, { method: 'POST', body: form })
    const body = (await res.json()) as { job_id: string }
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`)
    return body.job_id
  }

  /** Follows a run's stream; for each agent line, the time from the harness writing it to here. */
  const followRun = async (jobId: string, run: number, delays: SseSample[], stop: AbortSignal) => {
    let last = ''
    while (!stop.aborted) {
      try {
        const res = await fetch(`${base}/api/jobs/${jobId}/runs/${run}/logs/stream`, {
          headers: last ? { 'Last-Event-ID': last } : {},
          signal: stop,
        })
        const decoder = new TextDecoder()
        let buffer = ''
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let split: number
          while ((split = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, split)
            buffer = buffer.slice(split + 2)
            const now = Date.now()
            const id = /^id: (\d+)$/m.exec(block)?.[1]
            if (id) last = id
            if (/^event: end$/m.test(block)) return
            const t = /load line \d+\/\d+ t=(\d{13})/.exec(block)?.[1]
            const stored = Date.parse(/"time":"([^"]+)"/.exec(block)?.[1] ?? '')
            if (t) delays.push({ writtenAt: Number(t), delay: now - Number(t), toStored: stored - Number(t) })
          }
        }
      } catch {
        if (stop.aborted) return
        await sleep(500)
      }
    }
  }

  const schedOf = async (pids: Record<'api' | 'worker' | 'clients', number | undefined>) => ({
    api: await mainThreadSched(pids.api),
    worker: await mainThreadSched(pids.worker),
    clients: await mainThreadSched(pids.clients),
  })

  /** The API's event-loop lag percentiles since its metrics were last scraped, in ms. */
  const apiLoopDelay = async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    const read = (q: string) =>
      Number(new RegExp(`^nodejs_eventloop_lag_${q}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000
    return { p50: read('p50') - LOOP_TIMER_MS, p99: read('p99') - LOOP_TIMER_MS }
  }

  try {
    await service.ready()

    // 1. Idle: upload → the harness's first line (its `t=` is when the harness wrote it).
    const idleStart: number[] = []
    for (let i = 0; i < 4; i++) {
      const t0 = Date.now()
      const jobId = await upload(1, 'load/d1-r5')
      let first: number | null = null
      const stop = new AbortController()
      const res = await fetch(`${base}/api/jobs/${jobId}/runs/1/logs/stream`, { signal: stop.signal })
      const decoder = new TextDecoder()
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const t = /load line 1\/\d+ t=(\d{13})/.exec(decoder.decode(chunk, { stream: true }))?.[1]
          if (t) {
            first = Number(t) - t0
            break
          }
        }
      } finally {
        stop.abort()
      }
      if (i > 0 && first !== null) idleStart.push(first) // the first warms the API's task checker
      for (;;) {
        const job = (await (await fetch(`${base}/api/jobs/${jobId}`)).json()) as { status: string }
        if (job.status === 'completed') break
        await sleep(200)
      }
    }

    // A 1000-run job for the status poll (rows only: half finished, half queued; no workflow).
    const bigJob = randomUUID()
    await insertJobWithRuns(
      dbh.db,
      {
        job: {
          id: bigJob,
          task_name: 'load/big',
          task_format: 'harbor',
          task_sha256: 'f'.repeat(64),
          harness: 'harbor',
          agent: 'oracle',
          model: 'load/d1',
          environment: 'docker',
          n_runs: 1000,
          max_parallel: 1000,
          timeout_multiplier: 1,
          run_time_limit_sec: 3600,
          idempotency_key: null,
          owner_token_id: null,
        },
        secret: null,
      },
      randomUUID,
      { activeJobs: 10_000, activeRuns: 1_000_000 },
    )
    await dbh.db
      .updateTable('runs')
      .set({ status: 'completed', outcome: 'passed', reward: 1, n_input_tokens: 1000, n_output_tokens: 100 })
      .where('job_id', '=', bigJob)
      .where('run_number', '<=', 500)
      .execute()

    // 2. The load.
    const seqBefore = Number(
      (
        await dbh.db
          .selectFrom('runs')
          .select((eb) => eb.fn.sum<string>('log_seq').as('s'))
          .executeTakeFirstOrThrow()
      ).s ?? 0,
    )
    const workerPids = new Set(workers.map((w) => w.pid))
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
      if (pid === api.pid) return 'api'
      if (pid === process.pid) return 'load clients (this script)'
      if (comm.startsWith('temporal')) return 'temporal dev server'
      if (comm.startsWith('postgres')) return 'postgresql'
      // Counted in their worker's reaped children once they end (see CpuAccount).
      if (comm.startsWith('python') || ['sh', 'flock', 'date', 'mv', 'cat', 'setsid', 'rm'].includes(comm)) return null
      return `other (${comm})`
    })
    await cpu.sample()
    const cpuBase = cpu.snapshot()
    // Event-loop delays while the load runs: the API's (read from its metrics, which restart at each
    // scrape) and this script's own, since its clients time the API from a process on the same box.
    await apiLoopDelay()
    const ownLoop = monitorEventLoopDelay({ resolution: LOOP_TIMER_MS })
    ownLoop.enable()
    const schedPids = { api: api.pid, worker: workers[0]!.pid, clients: process.pid }
    const schedBase = await schedOf(schedPids)
    const t0 = Date.now()
    const model = `load/d${D}-r${RATE}`
    const sizes = Array.from({ length: Math.ceil(N / JOB_SIZE) }, (_, i) => Math.min(JOB_SIZE, N - i * JOB_SIZE))
    const jobIds = await Promise.all(sizes.map((n) => upload(n, model)))
    const submitted = Date.now() - t0
    const stop = new AbortController()
    const sseDelays: SseSample[] = []
    const followers = Array.from({ length: Math.min(FOLLOW, N) }, (_, i) =>
      followRun(jobIds[i % jobIds.length]!, Math.floor(i / jobIds.length) + 1, sseDelays, stop.signal),
    )
    // Job pages open as a dashboard holds them: the `job` events each receives.
    const jobPageEvents: number[] = Array.from({ length: JOB_PAGES }, () => 0)
    const jobPages = jobPageEvents.map((_, i) =>
      readSse(`${base}/api/jobs/${jobIds[i % jobIds.length]}/events`, {
        signal: stop.signal,
        timeoutMs: 24 * 3600_000, // until the job ends or the load stops
        stopWhen: (e) => {
          if (e.event === 'job') jobPageEvents[i]!++
          return false
        },
      }),
    )
    // Poller 0 polls the 1000-run job as a browser does (it sends the last ETag back, If-None-Match);
    // poller 1 polls it without validators, as curl would; the others poll the load's jobs (browser-like).
    /** The browser-like polls of the 1000-run job: when each was sent, and how long it took. */
    const bigPoll: { sentAt: number; ms: number }[] = []
    const bigPollPlain: number[] = []
    const loadPoll: number[] = []
    const bigPollApi: number[] = []
    const loadPollApi: number[] = []
    const pollAuth: number[] = []
    let notModified = 0
    const pollers = Array.from({ length: POLLERS }, async (_, i) => {
      const plain = i === 1
      const target = i <= 1 ? bigJob : jobIds[i % jobIds.length]!
      let etag: string | null = null
      while (!stop.signal.aborted) {
        const s = performance.now()
        const sentAt = Date.now()
        const res = await fetch(`${base}/api/jobs/${target}`, {
          headers: etag && !plain ? { 'If-None-Match': etag } : {},
        })
        await res.arrayBuffer()
        const ms = performance.now() - s
        if (target !== bigJob) loadPoll.push(ms)
        else if (plain) bigPollPlain.push(ms)
        else bigPoll.push({ sentAt, ms })
        // The API's own time for it (its Server-Timing header); the rest is spent outside its handlers.
        const timing = res.headers.get('server-timing') ?? ''
        const inApi = /(?:^|,)\s*total;[^,]*dur=([\d.]+)/.exec(timing)?.[1]
        if (inApi) (target !== bigJob ? loadPollApi : bigPollApi).push(Number(inApi))
        // Of which the token check.
        const auth = /(?:^|,)\s*auth;[^,]*dur=([\d.]+)/.exec(timing)?.[1]
        if (auth) pollAuth.push(Number(auth))
        if (res.status === 304) notModified++
        else etag = res.headers.get('etag')
        await sleep(1000)
      }
    })
    // The same browser-like poll of the 1000-run job through node:http (a kept-alive connection)
    // rather than fetch: tells the client library's own delays from the API's.
    const bigPollHttp: number[] = []
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const httpPoller = (async () => {
      let etag: string | undefined
      while (!stop.signal.aborted) {
        const s = performance.now()
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
          http
            .get(`${base}/api/jobs/${bigJob}`, { agent, headers: etag ? { 'If-None-Match': etag } : {} }, resolve)
            .on('error', reject),
        )
        for await (const _ of res) void _
        bigPollHttp.push(performance.now() - s)
        if (res.statusCode === 200) etag = res.headers.etag
        await sleep(1000)
      }
    })()
    const workerRss: number[] = []
    const apiRss: number[] = []
    const runnersRss: number[] = []
    const environmentsRss: number[] = []
    const rowsPerSec: number[] = []
    let lastSeq = seqBefore
    let lastAt = Date.now()
    let done = 0
    let lastProgress = Date.now()
    while (done < N) {
      await sleep(5000)
      workerRss.push(Math.max(...(await Promise.all(workers.map((w) => residentMiB(w.pid))))))
      apiRss.push(await residentMiB(api.pid))
      runnersRss.push(await sumOver([...runnerPids], residentMiB))
      const below = (await Promise.all([...runnerPids].map(descendantsOf))).flat()
      environmentsRss.push(await sumOver(below, residentMiB))
      await cpu.sample()
      const row = await dbh.db
        .selectFrom('runs')
        .select((eb) => [
          eb.fn.sum<string>('log_seq').as('s'),
          eb.fn.countAll<string>().filterWhere('status', '=', 'completed').as('done'),
        ])
        .where('job_id', 'in', jobIds)
        .executeTakeFirstOrThrow()
      const seq = Number(row.s) + seqBefore
      rowsPerSec.push(((seq - lastSeq) * 1000) / (Date.now() - lastAt))
      lastSeq = seq
      lastAt = Date.now()
      if (Number(row.done) > done) lastProgress = Date.now()
      done = Number(row.done)
      // Give up only past the ideal makespan, and after 3 minutes in which no run finished.
      if (Date.now() - t0 > (Math.ceil(N / C) * D + 180) * 1000 && Date.now() - lastProgress > 180_000) {
        process.stderr.write(`  no run finished for 3 minutes: reporting ${done}/${N}\n`)
        break
      }
      process.stderr.write(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${done}/${N} runs completed\n`)
    }
    const lastFinish = await dbh.db
      .selectFrom('runs')
      .select((eb) => eb.fn.max('finished_at').as('t'))
      .where('job_id', 'in', jobIds)
      .executeTakeFirstOrThrow()
    const makespan = (new Date(lastFinish.t as Date).getTime() - t0) / 1000
    stop.abort()
    await Promise.allSettled([...followers, ...pollers, httpPoller, ...jobPages])
    agent.destroy()
    ownLoop.disable()
    const apiLoop = await apiLoopDelay()
    const schedEnd = await schedOf(schedPids)
    const outcomes = await dbh.db
      .selectFrom('runs')
      .select(['outcome', (eb) => eb.fn.countAll<string>().as('n')])
      .where('job_id', 'in', jobIds)
      .groupBy('outcome')
      .execute()
    const totalRows =
      Number(
        (
          await dbh.db
            .selectFrom('runs')
            .select((eb) => eb.fn.sum<string>('log_seq').as('s'))
            .where('job_id', 'in', jobIds)
            .executeTakeFirstOrThrow()
        ).s,
      ) || 0

    // Where each run's time outside the harness went: between its status changes and the harness's span.
    const marks = await dbh.db
      .selectFrom('run_log_lines as l')
      .innerJoin('runs as r', 'r.id', 'l.run_id')
      .innerJoin('run_attempts as a', (j) => j.onRef('a.run_id', '=', 'r.id').on('a.attempt', '=', 1))
      .select([
        'r.id',
        'r.job_id',
        'r.run_number',
        'r.created_at',
        'l.line',
        'l.created_at as at',
        'a.started_at as slot_taken',
        'a.harness_started_at',
        'a.harness_finished_at',
      ])
      .where('r.job_id', 'in', jobIds)
      .where('l.stream', '=', 'status')
      .execute()
    // When Temporal started each run's workflow (the job workflow starts them as children).
    const workflowStarted = new Map<string, number>()
    const temporal = await connectTemporalClient(config, infra.temporalAddress)
    try {
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowType = 'runWorkflow'` }))
        workflowStarted.set(wf.workflowId, wf.startTime.getTime())
    } finally {
      await temporal.close()
    }
    const byRun = new Map<string, Record<string, number>>()
    for (const m of marks) {
      const r = byRun.get(m.id) ?? {
        created: m.created_at.getTime(),
        workflow: workflowStarted.get(runWorkflowId(m.job_id, m.run_number)) ?? NaN,
        slot: m.slot_taken?.getTime() ?? NaN,
        harness_start: m.harness_started_at?.getTime() ?? NaN,
        harness_end: m.harness_finished_at?.getTime() ?? NaN,
      }
      r[m.line.split(':')[0]!] = m.at.getTime()
      byRun.set(m.id, r)
    }
    const segment = (from: string, to: string) =>
      stats([...byRun.values()].map((r) => r[to]! - r[from]!).filter((v) => Number.isFinite(v)))
    // How many runs reached each mark in each 20 s after submission: a steady trickle is throughput,
    // a gap is a stall.
    const timeline = (mark: string) => {
      const counts: number[] = []
      for (const r of byRun.values()) {
        const at = r[mark]
        if (at === undefined || !Number.isFinite(at)) continue
        const bucket = Math.max(0, Math.floor((at - t0) / 20_000))
        counts[bucket] = (counts[bucket] ?? 0) + 1
      }
      return Array.from(counts, (n) => n ?? 0).join(' ')
    }
    const retried = Number(
      (
        await dbh.db
          .selectFrom('runs')
          .select((eb) => eb.fn.sum<string>(eb('attempts', '-', 1)).as('n'))
          .where('job_id', 'in', jobIds)
          .where('attempts', '>', 1)
          .executeTakeFirstOrThrow()
      ).n ?? 0,
    )
    // Why attempts were retried: their error class and message, most common first.
    const retryCauses = await dbh.db
      .selectFrom('run_attempts as a')
      .innerJoin('runs as r', 'r.id', 'a.run_id')
      .select([
        'a.error_class',
        (eb) => eb.fn<string>('left', ['a.error_message', eb.val(160)]).as('message'),
        (eb) => eb.fn.countAll<string>().as('n'),
      ])
      .where('r.job_id', 'in', jobIds)
      .where('a.error_class', 'is not', null)
      .where((eb) => eb('a.attempt', '<', eb.ref('r.attempts')))
      .groupBy(['a.error_class', 'message'])
      .orderBy('n', 'desc')
      .execute()
    const perHost = await dbh.db
      .selectFrom('runs')
      .select(['host', (eb) => eb.fn.countAll<string>().as('n')])
      .where('job_id', 'in', jobIds)
      .groupBy('host')
      .orderBy('host')
      .execute()
    await cpu.sample()
    const cpuUse = cpu.totals(cpuBase)
    const ideal = Math.ceil(N / C) * D
    const sse = stats(sseDelays.map((d) => d.delay))
    // The same for lines written while every run's harness ran: apart from the start and end bursts.
    const allStarted = Math.max(...[...byRun.values()].map((r) => r.harness_start!))
    const firstEnded = Math.min(...[...byRun.values()].map((r) => r.harness_end!))
    const steadyLines = sseDelays.filter((d) => d.writtenAt >= allStarted && d.writtenAt < firstEnded)
    const steady = stats(steadyLines.map((d) => d.delay))
    const toStored = stats(sseDelays.map((d) => d.toStored))
    const steadyToStored = stats(steadyLines.map((d) => d.toStored))
    const big = stats(bigPoll.map((p) => p.ms))
    const bigSteady = stats(bigPoll.filter((p) => p.sentAt >= allStarted && p.sentAt < firstEnded).map((p) => p.ms))
    const bigPlain = stats(bigPollPlain)
    const bigHttp = stats(bigPollHttp)
    const bigApi = stats(bigPollApi)
    const smallApi = stats(loadPollApi)
    const authStats = stats(pollAuth)
    const small = stats(loadPoll)
    const idle = stats(idleStart)
    const rows = stats(rowsPerSec)
    const f = (v: number, unit: string, digits = 0) => (Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : '—')
    const table: [string, string, string][] = [
      [
        `makespan of ${N} runs of ${D} s at ${C} slots / ideal ${ideal} s`,
        (makespan / ideal).toFixed(3),
        f(makespan, 's', 1),
      ],
      ['upload → harness start, idle service', f(idle.median, 'ms'), f(idle.p95, 'ms')],
      [`log line written → received by SSE client (${sse.n} lines)`, f(sse.median, 'ms'), f(sse.p95, 'ms')],
      [`  of which written while all harnesses ran (${steady.n} lines)`, f(steady.median, 'ms'), f(steady.p95, 'ms')],
      ['  written → stored (the worker read it, its commit began)', f(toStored.median, 'ms'), f(toStored.p95, 'ms')],
      ['    the same, while all harnesses ran', f(steadyToStored.median, 'ms'), f(steadyToStored.p95, 'ms')],
      ['GET /api/jobs/{id}, job of 1000 runs, under load', f(big.median, 'ms', 1), f(big.p95, 'ms', 1)],
      [
        `  of which while all harnesses ran (${bigSteady.n} polls)`,
        f(bigSteady.median, 'ms', 1),
        f(bigSteady.p95, 'ms', 1),
      ],
      ['  the same through node:http rather than fetch', f(bigHttp.median, 'ms', 1), f(bigHttp.p95, 'ms', 1)],
      ['  the same without If-None-Match (full body)', f(bigPlain.median, 'ms', 1), f(bigPlain.p95, 'ms', 1)],
      ['  of which in the API (Server-Timing), either way', f(bigApi.median, 'ms', 1), f(bigApi.p95, 'ms', 1)],
      [`GET /api/jobs/{id}, job of ${JOB_SIZE} runs, under load`, f(small.median, 'ms', 1), f(small.p95, 'ms', 1)],
      ['  of which in the API (Server-Timing)', f(smallApi.median, 'ms', 1), f(smallApi.p95, 'ms', 1)],
      [
        "  the token check's share of every poll (Server-Timing)",
        f(authStats.median, 'ms', 1),
        f(authStats.p95, 'ms', 1),
      ],
      ['event-loop lag of the API, p50 / p99', f(apiLoop.p50, 'ms', 1), f(apiLoop.p99, 'ms', 1)],
      [
        'event-loop lag of this script (the clients), p50 / p99',
        f(ownLoop.percentile(50) / 1e6 - LOOP_TIMER_MS, 'ms', 1),
        f(ownLoop.percentile(99) / 1e6 - LOOP_TIMER_MS, 'ms', 1),
      ],
      ...(['api', 'worker', 'clients'] as const).map((k): [string, string, string] => [
        `main thread of the ${k === 'worker' ? 'first worker' : k === 'clients' ? 'load clients' : 'API'}: s run / s waiting for a CPU`,
        f(schedEnd[k].ran - schedBase[k].ran, 's', 1),
        f(schedEnd[k].waited - schedBase[k].waited, 's', 1),
      ]),
      [`worker resident memory (largest of ${WORKERS}), max`, f(Math.max(...workerRss), 'MiB'), ''],
      ['API resident memory, max', f(Math.max(...apiRss), 'MiB'), ''],
      [`harness memory: the trial runners' resident memory, all together, max`, f(Math.max(...runnersRss), 'MiB'), ''],
      ["  their trials' environments (the test sandbox's processes), max", f(Math.max(...environmentsRss), 'MiB'), ''],
      ['log rows written per second', f(rows.median, '/s'), f(rows.max, '/s max')],
      ['log rows written in all', String(totalRows), ''],
      ...(
        [
          ['created → run workflow started (by its job workflow)', 'created', 'workflow'],
          ['run workflow started → slot taken (placement)', 'workflow', 'slot'],
          ['slot taken → staging', 'slot', 'staging'],
          ['staging → running (task staged)', 'staging', 'running'],
          ['running → harness started', 'running', 'harness_start'],
          ['harness ended → collecting', 'harness_end', 'collecting'],
          ['collecting → completed', 'collecting', 'completed'],
        ] as const
      ).map(([label, from, to]): [string, string, string] => {
        const seg = segment(from, to)
        return [`  ${label}`, f(seg.median, 'ms'), f(seg.p95, 'ms')]
      }),
    ]
    const w = Math.max(...table.map((r) => r[0].length))
    process.stdout.write(
      [
        '',
        `harbor-runner load test: ${N} runs × ${D} s at ${RATE} lines/s, ${C} slots over ${WORKERS} worker process(es), ${os.cpus().length} CPUs`,
        `runs per host: ${perHost.map((h) => `${h.host ?? 'none'} ${h.n}`).join(', ')}`,
        `submitted in ${(submitted / 1000).toFixed(1)} s; ${done}/${N} completed; attempts beyond the first ${retried}; outcomes ${outcomes.map((o) => `${o.outcome ?? 'none'} ${o.n}`).join(', ')}`,
        ...retryCauses.map((c) => `  retried after ${c.n} × ${c.error_class}: ${c.message}`),
        `status polls answered 304 Not Modified: ${notModified} of ${bigPoll.length + loadPoll.length} conditional polls`,
        ...(JOB_PAGES > 0
          ? [`job page streams held open: ${JOB_PAGES}, job events each received: ${jobPageEvents.join(', ')}`]
          : []),
        `runs reaching each mark per 20 s after submission: workflow started ${timeline('workflow')}; placed ${timeline('staging')}; harness started ${timeline('harness_start')}; completed ${timeline('completed')}`,
        '',
        `| ${'measure'.padEnd(w)} | median / ratio | p95 / value |`,
        `|${'-'.repeat(w + 2)}|---------------:|------------:|`,
        ...table.map(([a, b, c]) => `| ${a.padEnd(w)} | ${b.padStart(14)} | ${c.padStart(11)} |`),
        '',
        `CPU seconds from submission to the end (${os.cpus().length} CPUs × ${(makespan || 0).toFixed(0)} s = ${((makespan || 0) * os.cpus().length).toFixed(0)} s available; the box was busy ${cpuUse.box.toFixed(0)} s):`,
        ...[...cpuUse.byKind]
          .filter(([, sec]) => sec >= 0.5)
          .sort((a, b) => b[1] - a[1])
          .map(([kind, sec]) => `  ${kind.padEnd(28)} ${sec.toFixed(1).padStart(7)} s`),
        '',
      ].join('\n'),
    )
  } finally {
    await dbh.close()
    await service.stop()
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`)
  process.exit(1)
})
