/**
 * Hostile path, query and header parameters on every route but the upload (upload-rejections.test.ts
 * has that one): each gets a 4xx with its own code and a message, never a 5xx, through the one error
 * funnel. One table of cases, one test that walks it: adding a case is one line. Each case walked is
 * recorded for the reliability report. Then the health check, and cancel on a job that has ended.
 *
 * Through the routes (`app.request()`) on a real database. The request's URL is parsed as the Node
 * server parses it (WHATWG URL: "..", "%2e%2e" and friends resolved the same way), so the paths are
 * those a client sends byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finishJob } from '../../src/db/jobs.js'
import { computeJobMetrics } from '../../src/metrics/job-metrics.js'
import { createTestApp, type TestApp } from '../helpers/api-app.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { record } from '../helpers/reliability.js'

interface Case {
  name: string
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT'
  /** The request path; `JOB` is replaced by a job that exists (with runs 1 and 2), `MISSING` by one that does not. */
  path: string
  headers?: Record<string, string>
  status: number
  code: string
}

const LONG = 'x'.repeat(201)

const CASES: Case[] = [
  // GET /api/jobs
  { name: 'list: unknown query parameter', path: '/api/jobs?colour=blue', status: 400, code: 'invalid_query' },
  { name: 'list: limit -1', path: '/api/jobs?limit=-1', status: 400, code: 'invalid_limit' },
  { name: 'list: limit 0', path: '/api/jobs?limit=0', status: 400, code: 'invalid_limit' },
  { name: 'list: limit 500', path: '/api/jobs?limit=500', status: 400, code: 'invalid_limit' },
  { name: 'list: limit 10000', path: '/api/jobs?limit=10000', status: 400, code: 'invalid_limit' },
  { name: 'list: limit "abc"', path: '/api/jobs?limit=abc', status: 400, code: 'invalid_limit' },
  { name: 'list: limit 1e2', path: '/api/jobs?limit=1e2', status: 400, code: 'invalid_limit' },
  { name: 'list: limit 0x10', path: '/api/jobs?limit=0x10', status: 400, code: 'invalid_limit' },
  { name: 'list: limit empty', path: '/api/jobs?limit=', status: 400, code: 'invalid_limit' },
  { name: 'list: limit given twice', path: '/api/jobs?limit=1&limit=2', status: 400, code: 'invalid_limit' },
  { name: 'list: offset -1', path: '/api/jobs?offset=-1', status: 400, code: 'invalid_offset' },
  { name: 'list: offset 1.5', path: '/api/jobs?offset=1.5', status: 400, code: 'invalid_offset' },
  { name: 'list: offset huge', path: '/api/jobs?offset=99999999999999999999', status: 400, code: 'invalid_offset' },
  { name: 'list: unknown status', path: '/api/jobs?status=bogus', status: 400, code: 'invalid_status' },
  { name: 'list: status in capitals', path: '/api/jobs?status=QUEUED', status: 400, code: 'invalid_status' },
  { name: 'list: unknown harness', path: '/api/jobs?harness=swebench', status: 400, code: 'invalid_harness' },
  { name: 'list: overlong model filter', path: `/api/jobs?model=${LONG}`, status: 400, code: 'invalid_model' },
  {
    name: 'list: overlong task_name filter',
    path: `/api/jobs?task_name=${LONG}`,
    status: 400,
    code: 'invalid_task_name',
  },
  { name: 'list: NUL in the model filter', path: '/api/jobs?model=openai%00', status: 400, code: 'invalid_model' },
  { name: 'list: newline in the agent filter', path: '/api/jobs?agent=a%0Ab', status: 400, code: 'invalid_agent' },
  {
    name: 'list: NUL in the task_name filter',
    path: '/api/jobs?task_name=%00',
    status: 400,
    code: 'invalid_task_name',
  },
  // GET /api/jobs/{id}
  { name: 'job: not a UUID', path: '/api/jobs/not-a-uuid', status: 400, code: 'invalid_job_id' },
  { name: 'job: encoded ../etc/passwd', path: '/api/jobs/..%2Fetc%2Fpasswd', status: 400, code: 'invalid_job_id' },
  { name: 'job: encoded dots', path: '/api/jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd', status: 400, code: 'invalid_job_id' },
  { name: 'job: raw dot segments', path: '/api/jobs/../../etc/passwd', status: 404, code: 'not_found' },
  { name: 'job: UUID with a NUL', path: '/api/jobs/JOB%00', status: 400, code: 'invalid_job_id' },
  { name: 'job: UUID with a newline', path: '/api/jobs/JOB%0A', status: 400, code: 'invalid_job_id' },
  {
    name: 'job: NUL inside a UUID',
    path: '/api/jobs/00000000-0000-4000-8000-%000000000000',
    status: 400,
    code: 'invalid_job_id',
  },
  { name: 'job: bad percent-encoding', path: '/api/jobs/%ZZ', status: 400, code: 'invalid_job_id' },
  { name: 'job: 10 000 characters', path: `/api/jobs/${'a'.repeat(10_000)}`, status: 400, code: 'invalid_job_id' },
  { name: 'job: unknown UUID', path: '/api/jobs/MISSING', status: 404, code: 'job_not_found' },
  { name: 'job: unknown query parameter', path: '/api/jobs/JOB?verbose=1', status: 400, code: 'invalid_query' },
  // GET /api/jobs/{id}/runs/{n}
  { name: 'run: number 0', path: '/api/jobs/JOB/runs/0', status: 400, code: 'invalid_run_number' },
  { name: 'run: number -1', path: '/api/jobs/JOB/runs/-1', status: 400, code: 'invalid_run_number' },
  { name: 'run: number 1e3', path: '/api/jobs/JOB/runs/1e3', status: 400, code: 'invalid_run_number' },
  { name: 'run: number 01', path: '/api/jobs/JOB/runs/01', status: 400, code: 'invalid_run_number' },
  { name: 'run: number 1.0', path: '/api/jobs/JOB/runs/1.0', status: 400, code: 'invalid_run_number' },
  { name: 'run: number " 1"', path: '/api/jobs/JOB/runs/%201', status: 400, code: 'invalid_run_number' },
  { name: 'run: number "abc"', path: '/api/jobs/JOB/runs/abc', status: 400, code: 'invalid_run_number' },
  { name: 'run: number over int4', path: '/api/jobs/JOB/runs/2147483648', status: 400, code: 'invalid_run_number' },
  { name: 'run: number huge', path: `/api/jobs/JOB/runs/${'9'.repeat(30)}`, status: 400, code: 'invalid_run_number' },
  { name: 'run: largest int4', path: '/api/jobs/JOB/runs/2147483647', status: 404, code: 'run_not_found' },
  { name: 'run: no such run', path: '/api/jobs/JOB/runs/3', status: 404, code: 'run_not_found' },
  { name: 'run: bogus job id', path: '/api/jobs/..%2F..%2F/runs/1', status: 400, code: 'invalid_job_id' },
  { name: 'run: unknown job', path: '/api/jobs/MISSING/runs/1', status: 404, code: 'job_not_found' },
  { name: 'run: unknown query parameter', path: '/api/jobs/JOB/runs/1?x=1', status: 400, code: 'invalid_query' },
  // GET /api/jobs/{id}/runs/{n}/logs/stream
  ...lastEventIds(['abc', '-1', '1.5', '1e3', '0x10', '99999999999', '2147483648']),
  {
    name: 'stream: last_event_id query -1',
    path: '/api/jobs/JOB/runs/1/logs/stream?last_event_id=-1',
    status: 400,
    code: 'invalid_last_event_id',
  },
  {
    name: 'stream: last_event_id query not a number',
    path: '/api/jobs/JOB/runs/1/logs/stream?last_event_id=x',
    status: 400,
    code: 'invalid_last_event_id',
  },
  {
    name: 'stream: last_event_id given twice',
    path: '/api/jobs/JOB/runs/1/logs/stream?last_event_id=1&last_event_id=2',
    status: 400,
    code: 'invalid_last_event_id',
  },
  {
    name: 'stream: unknown query parameter',
    path: '/api/jobs/JOB/runs/1/logs/stream?from=1',
    status: 400,
    code: 'invalid_query',
  },
  { name: 'stream: run 0', path: '/api/jobs/JOB/runs/0/logs/stream', status: 400, code: 'invalid_run_number' },
  { name: 'stream: no such run', path: '/api/jobs/JOB/runs/3/logs/stream', status: 404, code: 'run_not_found' },
  { name: 'stream: bogus job id', path: '/api/jobs/%00/runs/1/logs/stream', status: 400, code: 'invalid_job_id' },
  // GET /api/jobs/{id}/runs/{n}/logs
  { name: 'logs: bogus job id', path: '/api/jobs/nope/runs/1/logs', status: 400, code: 'invalid_job_id' },
  { name: 'logs: run -1', path: '/api/jobs/JOB/runs/-1/logs', status: 400, code: 'invalid_run_number' },
  {
    name: 'logs: unknown query parameter',
    path: '/api/jobs/JOB/runs/1/logs?tail=10',
    status: 400,
    code: 'invalid_query',
  },
  // GET /api/jobs/{id}/runs/{n}/artifacts
  { name: 'artifacts: bogus job id', path: '/api/jobs/..%2F/runs/1/artifacts', status: 400, code: 'invalid_job_id' },
  { name: 'artifacts: run 0', path: '/api/jobs/JOB/runs/0/artifacts', status: 400, code: 'invalid_run_number' },
  {
    name: 'artifacts: unknown query parameter',
    path: '/api/jobs/JOB/runs/1/artifacts?path=..',
    status: 400,
    code: 'invalid_query',
  },
  { name: 'artifacts: none collected yet', path: '/api/jobs/JOB/runs/1/artifacts', status: 404, code: 'no_artifacts' },
  { name: 'artifacts: unknown job', path: '/api/jobs/MISSING/runs/1/artifacts', status: 404, code: 'job_not_found' },
  // POST /api/jobs/{id}/cancel
  { name: 'cancel: bogus id', method: 'POST', path: '/api/jobs/bogus/cancel', status: 400, code: 'invalid_job_id' },
  {
    name: 'cancel: encoded path trick',
    method: 'POST',
    path: '/api/jobs/..%2F..%2Fx/cancel',
    status: 400,
    code: 'invalid_job_id',
  },
  { name: 'cancel: unknown job', method: 'POST', path: '/api/jobs/MISSING/cancel', status: 404, code: 'job_not_found' },
  {
    name: 'cancel: unknown query parameter',
    method: 'POST',
    path: '/api/jobs/JOB/cancel?force=1',
    status: 400,
    code: 'invalid_query',
  },
  // Routes that do not exist
  { name: 'unknown route', path: '/api/nothing-here', status: 404, code: 'not_found' },
  { name: 'unknown route under a run', path: '/api/jobs/JOB/runs/1/nope', status: 404, code: 'not_found' },
  { name: 'trailing slash', path: '/api/jobs/JOB/', status: 404, code: 'not_found' },
  { name: 'cancel with GET', path: '/api/jobs/JOB/cancel', status: 404, code: 'not_found' },
  { name: 'DELETE a job', method: 'DELETE', path: '/api/jobs/JOB', status: 404, code: 'not_found' },
  { name: 'POST the job list', method: 'POST', path: '/api/jobs', status: 404, code: 'not_found' },
  { name: 'outside the API', path: '/etc/passwd', status: 404, code: 'not_found' },
]

/** One stream case per bad `Last-Event-ID` header. */
function lastEventIds(values: string[]): Case[] {
  return values.map((value) => ({
    name: `stream: Last-Event-ID ${JSON.stringify(value)}`,
    path: '/api/jobs/JOB/runs/1/logs/stream',
    headers: { 'Last-Event-ID': value },
    status: 400,
    code: 'invalid_last_event_id',
  }))
}

let t: TestApp
let jobId: string
const MISSING = '00000000-0000-4000-8000-000000000000'

beforeAll(async () => {
  t = await createTestApp()
  jobId = (await insertTestJob(t.db.db, 2)).jobId
})
afterAll(() => t?.close())

/** Sends the request with its path as given; the body is parsed as JSON when it is JSON. */
async function send(c: Case): Promise<{ status: number; body: any }> {
  const requestPath = c.path.replaceAll('JOB', jobId).replaceAll('MISSING', MISSING)
  const res = await t.app.request(requestPath, { method: c.method ?? 'GET', headers: c.headers })
  if (!res.headers.get('content-type')?.includes('application/json')) {
    // An accepted stream would never end: give up on it, as a failure.
    await res.body?.cancel()
    return { status: res.status, body: `not JSON: ${res.headers.get('content-type')} (a stream was opened?)` }
  }
  return { status: res.status, body: await res.json() }
}

describe('route inputs', () => {
  it('each get their own 4xx code and a message, never a 5xx', async () => {
    const failures: string[] = []
    for (const c of CASES) {
      const before = failures.length
      const { status, body } = await send(c)
      if (status !== c.status || body?.error?.code !== c.code) {
        failures.push(`${c.name}: expected ${c.status} ${c.code}, got ${status} ${JSON.stringify(body).slice(0, 300)}`)
      } else if (typeof body.error.message !== 'string' || body.error.message.length === 0) {
        failures.push(`${c.name}: no message`)
      }
      await record({ row: 'bad_input', what: `route: ${c.name}`, ok: failures.length === before })
    }
    expect(failures).toEqual([])
    // None of them was an unexpected error.
    expect(t.logged).toEqual([])
  })
})

describe('health', () => {
  it('answers ok while the database and Temporal answer, 503 naming Temporal when it does not', async () => {
    const ok = await t.app.request('/api/health')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ status: 'ok', database: 'ok', temporal: 'ok' })

    t.ping = async () => false
    try {
      const degraded = await t.app.request('/api/health')
      expect(degraded.status).toBe(503)
      expect(await degraded.json()).toEqual({ status: 'degraded', database: 'ok', temporal: 'unavailable' })
    } finally {
      t.ping = async () => true
    }
  })
})

describe('cancel', () => {
  it('asks to cancel a job that has not ended (202), and refuses one that has (409 job_finished)', async () => {
    const { jobId: running } = await insertTestJob(t.db.db, 1)
    const accepted = await t.app.request(`/api/jobs/${running}/cancel`, { method: 'POST' })
    expect(accepted.status).toBe(202)
    expect(await accepted.json()).toMatchObject({ job_id: running, cancel_requested: true })
    expect(t.cancelled).toEqual([running])

    const { jobId: ended } = await insertTestJob(t.db.db, 1)
    await finishJob(t.db.db, ended, 'cancelled', computeJobMetrics([]), null)
    const refused = await t.app.request(`/api/jobs/${ended}/cancel`, { method: 'POST' })
    expect(refused.status).toBe(409)
    expect(((await refused.json()) as any).error.code).toBe('job_finished')
    expect(t.cancelled).toEqual([running])
  })
})
