import { describe, expect, it, vi } from 'vitest'
import { Gauge, Registry } from 'prom-client'
import {
  cached,
  countLogLines,
  createApiMetrics,
  createWorkerMetrics,
  exposition,
  methodLabel,
  outcomeLabels,
  processMetrics,
  uploadResult,
  whileOpen,
} from '../../../src/observability/metrics.js'
import { metricsAuthorized, startMetricsServer } from '../../../src/observability/metrics-server.js'

describe('cached', () => {
  it('answers from the last load while it is fresh, and loads again after', async () => {
    let clock = 0
    const load = vi.fn(async () => clock)
    const get = cached(load, 2000, () => clock)
    expect(await get()).toBe(0)
    clock = 1999
    expect(await get()).toBe(0)
    clock = 2000
    expect(await get()).toBe(2000)
    expect(load).toHaveBeenCalledTimes(2)
  })

  it('shares one load between concurrent callers and does not keep a failure', async () => {
    let fail = true
    const load = vi.fn(async () => {
      if (fail) throw new Error('down')
      return 'up'
    })
    const get = cached(load, 60_000)
    const [a, b] = await Promise.allSettled([get(), get()])
    expect(a.status).toBe('rejected')
    expect(b.status).toBe('rejected')
    expect(load).toHaveBeenCalledTimes(1)
    fail = false
    expect(await get()).toBe('up')
    expect(load).toHaveBeenCalledTimes(2)
  })
})

describe('API metrics', () => {
  it('reads runs by status at scrape time, every status present, at most once per cache period', async () => {
    const countRuns = vi.fn(async () => ({ completed: 3, queued: 1 }))
    const metrics = createApiMetrics({ countRuns, cacheMs: 60_000 })
    const text = await metrics.registry.metrics()
    expect(text).toContain('harbor_runner_runs{status="completed"} 3')
    expect(text).toContain('harbor_runner_runs{status="queued"} 1')
    expect(text).toContain('harbor_runner_runs{status="running"} 0')
    await metrics.registry.metrics()
    expect(countRuns).toHaveBeenCalledTimes(1)
  })

  it('leaves runs empty, not stale, when the count fails, and says so', async () => {
    let fail = false
    const onCountError = vi.fn()
    const metrics = createApiMetrics({
      countRuns: async () => {
        if (fail) throw new Error('database down')
        return { running: 2 }
      },
      cacheMs: 0,
      onCountError,
    })
    expect(await metrics.registry.metrics()).toContain('harbor_runner_runs{status="running"} 2')
    fail = true
    const text = await metrics.registry.metrics()
    expect(text).not.toMatch(/harbor_runner_runs\{/)
    expect(onCountError).toHaveBeenCalledOnce()
  })

  it('counts requests by method, route pattern and status', async () => {
    const metrics = createApiMetrics({ countRuns: async () => ({}) })
    const labels = { method: 'GET', route: '/api/jobs/:job_id', status: '200' }
    metrics.httpRequests.inc(labels)
    metrics.httpDuration.observe(labels, 0.02)
    const text = await metrics.registry.metrics()
    expect(text).toContain('harbor_runner_http_requests_total{method="GET",route="/api/jobs/:job_id",status="200"} 1')
    expect(text).toContain('harbor_runner_http_request_duration_seconds_count{method="GET",route="/api/jobs/:job_id"')
  })
})

describe('exposition', () => {
  it("serves the process's, the API's and the worker's metrics as one text", async () => {
    const api = createApiMetrics({ countRuns: async () => ({}) })
    const worker = createWorkerMetrics()
    worker.logLinesIngested.inc({ stream: 'agent' }, 3)
    const { contentType, body } = await exposition([processMetrics(), api.registry, worker.registry])()
    expect(contentType).toMatch(/^text\/plain/)
    expect(body).toContain('process_resident_memory_bytes')
    expect(body).toContain('nodejs_eventloop_lag_seconds')
    expect(body).toContain('harbor_runner_sse_clients')
    expect(body).toContain('harbor_runner_log_lines_ingested_total{stream="agent"} 3')
  })

  it('keeps the process metrics in one registry per process', () => {
    expect(processMetrics()).toBe(processMetrics())
  })

  it('refuses a metric name twice', async () => {
    const a = createWorkerMetrics()
    const b = createWorkerMetrics()
    await expect(exposition([a.registry, b.registry])()).rejects.toThrow(/already been registered/)
  })
})

describe('labels', () => {
  it('names the error class of errors only', () => {
    expect(outcomeLabels({ outcome: 'passed', error_class: null })).toEqual({ outcome: 'passed', error_class: 'none' })
    expect(outcomeLabels({ outcome: 'error', error_class: 'infra' })).toEqual({
      outcome: 'error',
      error_class: 'infra',
    })
    expect(outcomeLabels({ outcome: 'cancelled', error_class: null })).toEqual({
      outcome: 'cancelled',
      error_class: 'none',
    })
  })

  it('counts log lines by stream, odd stream names as other', async () => {
    const worker = createWorkerMetrics()
    countLogLines(worker.logLinesIngested, [
      { stream: 'agent' },
      { stream: 'agent' },
      { stream: 'verifier' },
      { stream: '../../etc/passwd' },
    ])
    const text = await worker.registry.metrics()
    expect(text).toContain('harbor_runner_log_lines_ingested_total{stream="agent"} 2')
    expect(text).toContain('harbor_runner_log_lines_ingested_total{stream="verifier"} 1')
    expect(text).toContain('harbor_runner_log_lines_ingested_total{stream="other"} 1')
  })

  it('bounds methods and classes upload results by status', () => {
    expect(methodLabel('GET')).toBe('GET')
    expect(methodLabel('BREW')).toBe('other')
    expect([201, 200, 413, 422, 503].map(uploadResult)).toEqual([
      'created',
      'replayed',
      'rejected',
      'rejected',
      'failed',
    ])
  })
})

describe('whileOpen', () => {
  it('holds the gauge one higher while the function runs, also when it throws', async () => {
    const registry = new Registry()
    const gauge = new Gauge({ name: 'open_things', help: 'x', labelNames: ['stream'], registers: [registry] })
    const value = async () => (await gauge.get()).values.find((v) => v.labels.stream === 'job')?.value ?? 0
    let seen = -1
    await whileOpen(gauge, { stream: 'job' }, async () => {
      seen = await value()
    })()
    expect(seen).toBe(1)
    expect(await value()).toBe(0)
    await expect(
      whileOpen(gauge, { stream: 'job' }, async () => {
        throw new Error('client went away')
      })(),
    ).rejects.toThrow('client went away')
    expect(await value()).toBe(0)
  })
})

describe('metrics server', () => {
  it('accepts anyone without a token, only the bearer of it with one', () => {
    expect(metricsAuthorized(undefined, null)).toBe(true)
    expect(metricsAuthorized(undefined, 'a-long-scrape-token')).toBe(false)
    expect(metricsAuthorized('Bearer wrong', 'a-long-scrape-token')).toBe(false)
    expect(metricsAuthorized('Bearer a-long-scrape-token', 'a-long-scrape-token')).toBe(true)
  })

  it('serves GET /metrics, behind the token when one is set', async () => {
    const worker = createWorkerMetrics()
    worker.activeHarnesses.set({ host: 'local' }, 2)
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      token: 'a-long-scrape-token',
      scrape: exposition([worker.registry]),
      onError: () => {},
    })
    try {
      expect((await fetch(server.url)).status).toBe(401)
      const res = await fetch(server.url, { headers: { Authorization: 'Bearer a-long-scrape-token' } })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('harbor_runner_active_harnesses{host="local"} 2')
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404)
    } finally {
      await server.close()
    }
  })
})
