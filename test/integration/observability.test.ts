/**
 * Metrics after a real run: the API's `GET /metrics` (request counts by route pattern, runs by
 * status, open event streams), the worker's (log lines, harness durations, attempts, harnesses
 * followed live) through its accessor and its own server, both behind METRICS_TOKEN; and the Temporal SDK's metrics of a
 * worker process started with TEMPORAL_METRICS_ADDRESS.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { readSse, upload, waitForJob } from '../helpers/api-client.js'
import { eventually } from '../helpers/eventually.js'
import { freePort } from '../helpers/ports.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'

const TASKS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks')
const METRICS_TOKEN = 'scrape-token-for-the-observability-test'
const AUTH = { Authorization: `Bearer ${METRICS_TOKEN}` }
/** How long, and how often, a scrape is tried again until it shows what a test waits for. */
const SCRAPES = { timeoutMs: 15_000, everyMs: 250 }

let service: TestService
let workerMetricsPort: number
let job: any
/** `sse_clients{stream="run_log"}` while a run's log stream was open. */
let sseClientsWhileOpen: number | null = null
/**
 * The worker's followed harnesses and those of them followed live, sampled while the job ran (with
 * FOLLOW_LIVE_UP_TO=0 only a run someone watches is followed live; run 1's log is streamed, run 2's not).
 */
const followSamples: { active: number; live: number }[] = []

async function scrape(url: string, headers: Record<string, string> = AUTH): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers })
  return { status: res.status, text: await res.text() }
}

/** The value of one sample (`name{labels}` exactly as printed), or null when absent. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? null : Number(line.slice(series.length + 1))
}

/** The sum of every sample of a metric, whatever its labels. */
function total(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

beforeAll(async () => {
  workerMetricsPort = await freePort()
  service = await startTestService({
    env: { METRICS_TOKEN, WORKER_METRICS_PORT: String(workerMetricsPort), FOLLOW_LIVE_UP_TO: '0' },
  })
  let jobDone = false
  const sampling = (async () => {
    while (!jobDone) {
      const text = await service.worker!.metrics()
      followSamples.push({
        active: total(text, 'harbor_runner_active_harnesses'),
        live: total(text, 'harbor_runner_live_followed_harnesses'),
      })
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  const up = await upload(service.api.url, {
    file: await zipDirectory(path.join(TASKS, 'hello-pass')),
    filename: 'hello-pass.zip',
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2' },
  })
  expect(up.status).toBe(201)
  // Run 1's log, followed to its end; the gauge is read once, while the stream is open.
  await readSse(`${service.api.url}/api/jobs/${up.body.job_id}/runs/1/logs/stream`, {
    stopWhen: (e) => {
      if (sseClientsWhileOpen === null) {
        sseClientsWhileOpen = -1
        void scrape(`${service.api.url}/metrics`).then(({ text }) => {
          sseClientsWhileOpen = sample(text, 'harbor_runner_sse_clients{stream="run_log"}')
        })
      }
      return e.event === 'end'
    },
  })
  job = await waitForJob(service.api.url, up.body.job_id, (j) => j.status === 'completed')
  jobDone = true
  await sampling
}, 180_000)

afterAll(async () => {
  await service?.stop()
})

describe("the API's GET /metrics", () => {
  it('answers only with the METRICS_TOKEN', async () => {
    expect((await scrape(`${service.api.url}/metrics`, {})).status).toBe(401)
    expect((await scrape(`${service.api.url}/metrics`, { Authorization: 'Bearer nope' })).status).toBe(401)
    expect((await scrape(`${service.api.url}/metrics`)).status).toBe(200)
  })

  it('counts requests by route pattern, never by path, and no id appears', async () => {
    const { text } = await scrape(`${service.api.url}/metrics`)
    expect(sample(text, 'harbor_runner_http_requests_total{method="POST",route="/api/upload",status="201"}')).toBe(1)
    // waitForJob polled the job.
    expect(
      sample(text, 'harbor_runner_http_requests_total{method="GET",route="/api/jobs/:job_id",status="200"}'),
    ).toBeGreaterThanOrEqual(1)
    expect(text).toContain('route="/api/jobs/:job_id/runs/:run_number/logs/stream"')
    expect(text).toMatch(/harbor_runner_http_request_duration_seconds_bucket\{.*route="\/api\/upload"/)
    expect(sample(text, 'harbor_runner_uploads_total{result="created"}')).toBe(1)
    expect(text).not.toContain(job.job_id)
    expect(text).not.toContain(METRICS_TOKEN)
    // Node's process metrics.
    expect(text).toContain('process_resident_memory_bytes')
    expect(text).toContain('nodejs_eventloop_lag_seconds')
  })

  it('shows runs by status, read from the database', async () => {
    const text = await eventually(
      async () => (await scrape(`${service.api.url}/metrics`)).text,
      (t) => (sample(t, 'harbor_runner_runs{status="completed"}') ?? 0) >= 2,
      SCRAPES,
    )
    expect(sample(text, 'harbor_runner_runs{status="completed"}')).toBeGreaterThanOrEqual(2)
    expect(sample(text, 'harbor_runner_runs{status="running"}')).toBe(0)
  })

  it('counts open event streams while they are open', async () => {
    expect(sseClientsWhileOpen).toBeGreaterThanOrEqual(1)
    const text = await eventually(
      async () => (await scrape(`${service.api.url}/metrics`)).text,
      (t) => sample(t, 'harbor_runner_sse_clients{stream="run_log"}') === 0,
      SCRAPES,
    )
    expect(sample(text, 'harbor_runner_sse_clients{stream="run_log"}')).toBe(0)
  })
})

describe("the worker's metrics", () => {
  it('count the log lines ingested and the harness runs, by outcome', async () => {
    const text = await service.worker!.metrics()
    expect(total(text, 'harbor_runner_log_lines_ingested_total')).toBeGreaterThan(0)
    const passed = 'harness="harbor",outcome="passed",error_class="none"'
    expect(sample(text, `harbor_runner_harness_duration_seconds_count{${passed}}`)).toBeGreaterThanOrEqual(2)
    expect(sample(text, `harbor_runner_attempts_total{${passed}}`)).toBeGreaterThanOrEqual(2)
    expect(sample(text, 'harbor_runner_run_queue_latency_seconds_count{harness="harbor"}')).toBeGreaterThanOrEqual(2)
    expect(sample(text, 'harbor_runner_active_harnesses{host="local"}')).toBe(0)
    expect(sample(text, 'harbor_runner_live_followed_harnesses{host="local"}')).toBe(0)
    expect(text).toContain('process_resident_memory_bytes')
  })

  it("show the host's trial runner: its memory and its attempts", async () => {
    // (Measured at each check of the host, every 5 s.)
    const text = await eventually(
      () => service.worker!.metrics(),
      (t) => total(t, 'harbor_runner_trial_runner_resident_bytes') > 0,
      { timeoutMs: 15_000, everyMs: 500 },
    )
    expect(total(text, 'harbor_runner_trial_runner_resident_bytes')).toBeGreaterThan(20 * 1024 ** 2)
    expect(text).toMatch(/^harbor_runner_trial_runner_attempts\{host="local",runner="[0-9a-f]{12}-0-\d+"\} \d+$/m)
  })

  it('show the run whose log is streamed followed live, and the other polled, past FOLLOW_LIVE_UP_TO', () => {
    // Run 1 watched: live while followed. Run 2 unwatched: followed, but not live.
    expect(followSamples.some((s) => s.live === 1)).toBe(true)
    expect(followSamples.some((s) => s.active > s.live)).toBe(true)
    expect(Math.max(...followSamples.map((s) => s.live))).toBe(1)
  })

  it('are served on WORKER_METRICS_PORT, behind the token', async () => {
    const url = `http://127.0.0.1:${workerMetricsPort}/metrics`
    expect(service.worker!.metricsUrl).toBe(url)
    expect((await scrape(url, {})).status).toBe(401)
    const { status, text } = await scrape(url)
    expect(status).toBe(200)
    expect(total(text, 'harbor_runner_log_lines_ingested_total')).toBeGreaterThan(0)
  })
})

describe("the Temporal SDK's metrics", () => {
  it('are served at TEMPORAL_METRICS_ADDRESS by a worker process', async () => {
    const sdkPort = await freePort()
    // The separate worker process reads this env (spawnWorker passes the service's env as it is).
    Object.assign(service.env, {
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
      WORKER_METRICS_PORT: String(await freePort()),
    })
    const child = service.spawnWorker()
    const text = await eventually(
      async () =>
        (await fetch(`http://127.0.0.1:${sdkPort}/metrics`).then(
          (r) => r.text(),
          () => '',
        )) ?? '',
      (t) => t.includes('temporal_'),
      { ...SCRAPES, timeoutMs: 60_000 },
    )
    child.kill('SIGTERM')
    await child
    expect(text).toMatch(/^temporal_\w+/m)
  }, 90_000)
})
