/**
 * Prometheus metrics of the API and the worker (prom-client). Each side builds its own registry;
 * Node's process metrics live in one registry per process, so the API and the worker of `npm start`
 * can be served together without a name appearing twice.
 *
 * Labels are bounded sets only (route patterns, statuses, outcome classes, harness and host names
 * from the configuration): never a job id, a run id, a path or anything a caller sends.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { RUN_STATUSES, type ErrorClass, type RunOutcome, type RunStatus } from '../shared/status.js'

const PREFIX = 'harbor_runner_'

let processRegistry: Registry | null = null

/** RSS, heap, CPU, event loop lag, …: once per process, whatever serves them. */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

export interface Exposition {
  contentType: string
  body: string
}

/** What `GET /metrics` answers: the registries' metrics, in Prometheus's text format. */
export function exposition(registries: readonly Registry[]): () => Promise<Exposition> {
  return async () => {
    // merge() refuses a metric name twice, which would make the text ambiguous.
    const merged = Registry.merge([...registries])
    return { contentType: merged.contentType, body: await merged.metrics() }
  }
}

export type RunCounts = Partial<Record<RunStatus, number>>

export interface ApiMetrics {
  readonly registry: Registry
  readonly httpRequests: Counter<'method' | 'route' | 'status'>
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly sseClients: Gauge<'stream'>
  readonly uploads: Counter<'result'>
}

export function createApiMetrics(options: {
  /** Runs by status, from the database; read at scrape time, at most once per `cacheMs`. */
  countRuns: () => Promise<RunCounts>
  cacheMs?: number
  /** A failed count leaves `runs` empty for that scrape (rather than stale) and is reported here. */
  onCountError?: (err: unknown) => void
}): ApiMetrics {
  const registry = new Registry()
  const countRuns = cached(options.countRuns, options.cacheMs ?? 2000)
  new Gauge({
    name: `${PREFIX}runs`,
    help: 'Runs by status (all jobs, read from PostgreSQL at scrape time).',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset()
      let counts: RunCounts
      try {
        counts = await countRuns()
      } catch (err) {
        options.onCountError?.(err)
        return
      }
      for (const status of RUN_STATUSES) this.set({ status }, counts[status] ?? 0)
    },
  })
  const metrics: ApiMetrics = {
    registry,
    httpRequests: new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'HTTP requests answered by the API, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'Time until the API started its response (for event streams: until the stream opened).',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    sseClients: new Gauge({
      name: `${PREFIX}sse_clients`,
      help: 'Open Server-Sent Event streams: run_log (a run log) or job (a job page).',
      labelNames: ['stream'],
      registers: [registry],
    }),
    uploads: new Counter({
      name: `${PREFIX}uploads_total`,
      help: 'Task uploads by result: created, replayed (Idempotency-Key), rejected (4xx), failed (5xx).',
      labelNames: ['result'],
      registers: [registry],
    }),
  }
  // Zero rather than absent before the first stream: dashboards and alerts see the series at once.
  for (const stream of ['run_log', 'job']) metrics.sseClients.set({ stream }, 0)
  return metrics
}

export interface WorkerMetrics {
  readonly registry: Registry
  readonly harnessDuration: Histogram<'harness' | 'outcome' | 'error_class'>
  readonly runQueueLatency: Histogram<'harness'>
  readonly logLinesIngested: Counter<'stream'>
  readonly activeHarnesses: Gauge<'host'>
  readonly liveHarnesses: Gauge<'host'>
  readonly attempts: Counter<'harness' | 'outcome' | 'error_class'>
  readonly runnerResidentBytes: Gauge<'host' | 'runner'>
  readonly runnerAttempts: Gauge<'host' | 'runner'>
}

/** Harness runs take seconds to a day. */
const LONG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400]

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry()
  return {
    registry,
    harnessDuration: new Histogram({
      name: `${PREFIX}harness_duration_seconds`,
      help: 'Wall time of harnesses (as their record says), by harness and attempt outcome.',
      labelNames: ['harness', 'outcome', 'error_class'],
      buckets: LONG_BUCKETS,
      registers: [registry],
    }),
    runQueueLatency: new Histogram({
      name: `${PREFIX}run_queue_latency_seconds`,
      help: "From a run's creation to the start of its first attempt's harness (queue, placement, staging).",
      labelNames: ['harness'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400],
      registers: [registry],
    }),
    logLinesIngested: new Counter({
      name: `${PREFIX}log_lines_ingested_total`,
      help: "Lines read from harnesses' files and committed to run logs, by stream.",
      labelNames: ['stream'],
      registers: [registry],
    }),
    activeHarnesses: new Gauge({
      name: `${PREFIX}active_harnesses`,
      help: 'Harness processes this worker is following, by host.',
      labelNames: ['host'],
      registers: [registry],
    }),
    liveHarnesses: new Gauge({
      name: `${PREFIX}live_followed_harnesses`,
      help:
        'Of the harnesses this worker follows, those followed live (files read as written): all while ' +
        'at most FOLLOW_LIVE_UP_TO are followed, else those of the runs someone watches.',
      labelNames: ['host'],
      registers: [registry],
    }),
    attempts: new Counter({
      name: `${PREFIX}attempts_total`,
      help: 'Attempts ended on this worker, by harness and outcome (passed, failed, error, cancelled).',
      labelNames: ['harness', 'outcome', 'error_class'],
      registers: [registry],
    }),
    runnerResidentBytes: new Gauge({
      name: `${PREFIX}trial_runner_resident_bytes`,
      help: "Resident memory of each warm trial runner of the hosts this worker serves (the runner's own process).",
      labelNames: ['host', 'runner'],
      registers: [registry],
    }),
    runnerAttempts: new Gauge({
      name: `${PREFIX}trial_runner_attempts`,
      help: 'Attempts each warm trial runner is running.',
      labelNames: ['host', 'runner'],
      registers: [registry],
    }),
  }
}

/** An attempt's outcome as labels: `error_class` is `none` unless the outcome is `error`. */
export function outcomeLabels(o: { outcome: RunOutcome | 'cancelled'; error_class: ErrorClass | null }): {
  outcome: string
  error_class: string
} {
  return { outcome: o.outcome, error_class: o.outcome === 'error' ? (o.error_class ?? 'unknown') : 'none' }
}

/** Counts log entries by stream. Stream names come from the drivers; anything odd counts as `other`. */
export function countLogLines(counter: Counter<'stream'>, entries: readonly { stream: string }[]): void {
  const byStream = new Map<string, number>()
  for (const { stream } of entries) {
    const label = /^[a-z][a-z0-9_-]{0,31}$/.test(stream) ? stream : 'other'
    byStream.set(label, (byStream.get(label) ?? 0) + 1)
  }
  for (const [stream, n] of byStream) counter.inc({ stream }, n)
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The method as a label; a made-up one counts as `other`. */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other'
}

/** What became of an upload, by the status it was answered with. */
export function uploadResult(status: number): 'created' | 'replayed' | 'rejected' | 'failed' {
  if (status === 201) return 'created'
  if (status < 300) return 'replayed'
  return status < 500 ? 'rejected' : 'failed'
}

/**
 * `load` at most once per `ttlMs`: the last value while it is fresh, and one shared call for
 * concurrent callers. A failure is not kept: the next call tries again.
 */
export function cached<T>(load: () => Promise<T>, ttlMs: number, now = () => Date.now()): () => Promise<T> {
  let value: { at: number; promise: Promise<T> } | null = null
  return () => {
    if (value && now() - value.at < ttlMs) return value.promise
    const entry = { at: now(), promise: load() }
    value = entry
    entry.promise.catch(() => {
      if (value === entry) value = null
    })
    return entry.promise
  }
}

/** `fn`, with `gauge` one higher while it runs (an open stream, say); without a gauge, just `fn`. */
export function whileOpen<L extends string, A extends unknown[], R>(
  gauge: Gauge<L> | undefined,
  labels: Partial<Record<L, string>>,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  if (!gauge) return fn
  return async (...args) => {
    gauge.inc(labels)
    try {
      return await fn(...args)
    } finally {
      gauge.dec(labels)
    }
  }
}
