/** The load test's report: a few lines of context, one table, and the CPU seconds by process kind. */
import os from 'node:os'
import type { LoadOptions } from './options.js'
import type { LoadResults, RunMarks } from './results.js'
import type { LoadRun } from './run.js'
import { stats } from './stats.js'

type Row = [string, string, string]

/** Everything the report is made of. */
export interface ReportInput {
  opts: LoadOptions
  run: LoadRun
  results: LoadResults
  /** Upload → harness start on the idle service, ms. */
  idleStart: number[]
  cpuUse: { byKind: Map<string, number>; box: number }
}

const f = (v: number, unit: string, digits = 0) => (Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : '—')
const pair = (label: string, s: { median: number; p95: number }, unit = 'ms', digits = 0): Row => [
  label,
  f(s.median, unit, digits),
  f(s.p95, unit, digits),
]

export function printReport(input: ReportInput): void {
  const { opts, run, results, cpuUse } = input
  const { runs: N, duration: D, slots: C } = opts
  const { outcomes, retryCauses, perHost, byRun } = results
  const table = [...latencyRows(input), ...resourceRows(input), ...segmentRows(byRun)]
  const w = Math.max(...table.map((r) => r[0].length))
  const { polls } = run
  const makespan = run.makespan || 0
  process.stdout.write(
    [
      '',
      `harbor-runner load test: ${N} runs × ${D} s at ${opts.rate} lines/s, ${C} slots over ${opts.workers} worker process(es), ${os.cpus().length} CPUs`,
      `runs per host: ${perHost.map((h) => `${h.host ?? 'none'} ${h.n}`).join(', ')}`,
      `submitted in ${(run.submitted / 1000).toFixed(1)} s; ${run.samples.done}/${N} completed; attempts beyond the first ${results.retried}; outcomes ${outcomes.map((o) => `${o.outcome ?? 'none'} ${o.n}`).join(', ')}`,
      ...retryCauses.map((c) => `  retried after ${c.n} × ${c.error_class}: ${c.message}`),
      `status polls answered 304 Not Modified: ${polls.notModified} of ${polls.bigPoll.length + polls.loadPoll.length} conditional polls`,
      ...(opts.jobPages > 0
        ? [`job page streams held open: ${opts.jobPages}, job events each received: ${run.jobPageEvents.join(', ')}`]
        : []),
      `runs reaching each mark per 20 s after submission: workflow started ${timeline(byRun, run.t0, 'workflow')}; placed ${timeline(byRun, run.t0, 'staging')}; harness started ${timeline(byRun, run.t0, 'harness_start')}; completed ${timeline(byRun, run.t0, 'completed')}`,
      '',
      `| ${'measure'.padEnd(w)} | median / ratio | p95 / value |`,
      `|${'-'.repeat(w + 2)}|---------------:|------------:|`,
      ...table.map(([a, b, c]) => `| ${a.padEnd(w)} | ${b.padStart(14)} | ${c.padStart(11)} |`),
      '',
      `CPU seconds from submission to the end (${os.cpus().length} CPUs × ${makespan.toFixed(0)} s = ${(makespan * os.cpus().length).toFixed(0)} s available; the box was busy ${cpuUse.box.toFixed(0)} s):`,
      ...[...cpuUse.byKind]
        .filter(([, sec]) => sec >= 0.5)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, sec]) => `  ${kind.padEnd(28)} ${sec.toFixed(1).padStart(7)} s`),
      '',
    ].join('\n'),
  )
}

/** Makespan, start, SSE and status-poll latencies. */
function latencyRows({ opts, run, results, idleStart }: ReportInput): Row[] {
  const { runs: N, duration: D, slots: C } = opts
  const ideal = Math.ceil(N / C) * D
  const { sseDelays, polls } = run
  // The same for lines written while every run's harness ran: apart from the start and end bursts.
  const marks = [...results.byRun.values()]
  const allStarted = Math.max(...marks.map((r) => r.harness_start!))
  const firstEnded = Math.min(...marks.map((r) => r.harness_end!))
  const steadyLines = sseDelays.filter((d) => d.writtenAt >= allStarted && d.writtenAt < firstEnded)
  const sse = stats(sseDelays.map((d) => d.delay))
  const steady = stats(steadyLines.map((d) => d.delay))
  const bigSteady = stats(polls.bigPoll.filter((p) => p.sentAt >= allStarted && p.sentAt < firstEnded).map((p) => p.ms))
  return [
    [
      `makespan of ${N} runs of ${D} s at ${C} slots / ideal ${ideal} s`,
      (run.makespan / ideal).toFixed(3),
      f(run.makespan, 's', 1),
    ],
    pair('upload → harness start, idle service', stats(idleStart)),
    pair(`log line written → received by SSE client (${sse.n} lines)`, sse),
    pair(`  of which written while all harnesses ran (${steady.n} lines)`, steady),
    pair('  written → stored (the worker read it, its commit began)', stats(sseDelays.map((d) => d.toStored))),
    pair('    the same, while all harnesses ran', stats(steadyLines.map((d) => d.toStored))),
    pair('GET /api/jobs/{id}, job of 1000 runs, under load', stats(polls.bigPoll.map((p) => p.ms)), 'ms', 1),
    pair(`  of which while all harnesses ran (${bigSteady.n} polls)`, bigSteady, 'ms', 1),
    pair('  the same through node:http rather than fetch', stats(polls.bigPollHttp), 'ms', 1),
    pair('  the same without If-None-Match (full body)', stats(polls.bigPollPlain), 'ms', 1),
    pair('  of which in the API (Server-Timing), either way', stats(polls.bigPollApi), 'ms', 1),
    pair(`GET /api/jobs/{id}, job of ${opts.jobSize} runs, under load`, stats(polls.loadPoll), 'ms', 1),
    pair('  of which in the API (Server-Timing)', stats(polls.loadPollApi), 'ms', 1),
    pair("  the token check's share of every poll (Server-Timing)", stats(polls.pollAuth), 'ms', 1),
  ]
}

/** Event loops, main threads, memory and log rows. */
function resourceRows({ opts, run, results }: ReportInput): Row[] {
  const { samples, schedBase, schedEnd } = run
  const rows = stats(samples.rowsPerSec)
  return [
    ['event-loop lag of the API, p50 / p99', f(run.apiLoop.p50, 'ms', 1), f(run.apiLoop.p99, 'ms', 1)],
    [
      'event-loop lag of this script (the clients), p50 / p99',
      f(run.ownLoop.p50, 'ms', 1),
      f(run.ownLoop.p99, 'ms', 1),
    ],
    ...(['api', 'worker', 'clients'] as const).map((k): Row => [
      `main thread of the ${k === 'worker' ? 'first worker' : k === 'clients' ? 'load clients' : 'API'}: s run / s waiting for a CPU`,
      f(schedEnd[k].ran - schedBase[k].ran, 's', 1),
      f(schedEnd[k].waited - schedBase[k].waited, 's', 1),
    ]),
    [`worker resident memory (largest of ${opts.workers}), max`, f(Math.max(...samples.workerRss), 'MiB'), ''],
    ['API resident memory, max', f(Math.max(...samples.apiRss), 'MiB'), ''],
    [
      `harness memory: the trial runners' resident memory, all together, max`,
      f(Math.max(...samples.runnersRss), 'MiB'),
      '',
    ],
    [
      "  their trials' environments (the test sandbox's processes), max",
      f(Math.max(...samples.environmentsRss), 'MiB'),
      '',
    ],
    ['log rows written per second', f(rows.median, '/s'), f(rows.max, '/s max')],
    ['log rows written in all', String(results.totalRows), ''],
  ]
}

const SEGMENTS = [
  ['created → run workflow started (by its job workflow)', 'created', 'workflow'],
  ['run workflow started → slot taken (placement)', 'workflow', 'slot'],
  ['slot taken → staging', 'slot', 'staging'],
  ['staging → running (task staged)', 'staging', 'running'],
  ['running → harness started', 'running', 'harness_start'],
  ['harness ended → collecting', 'harness_end', 'collecting'],
  ['collecting → completed', 'collecting', 'completed'],
] as const

/** Where each run's time outside the harness went, segment by segment. */
function segmentRows(byRun: RunMarks): Row[] {
  return SEGMENTS.map(([label, from, to]) =>
    pair(`  ${label}`, stats([...byRun.values()].map((r) => r[to]! - r[from]!).filter((v) => Number.isFinite(v)))),
  )
}

/**
 * How many runs reached `mark` in each 20 s after submission: a steady trickle is throughput, a gap
 * is a stall.
 */
function timeline(byRun: RunMarks, t0: number, mark: string): string {
  const counts: number[] = []
  for (const r of byRun.values()) {
    const at = r[mark]
    if (at === undefined || !Number.isFinite(at)) continue
    const bucket = Math.max(0, Math.floor((at - t0) / 20_000))
    counts[bucket] = (counts[bucket] ?? 0) + 1
  }
  return Array.from(counts, (n) => n ?? 0).join(' ')
}
