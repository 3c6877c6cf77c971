/**
 * Hostile path, query and header parameters on every route but the upload (upload-rejections.test.ts
 * has that one): each gets a 4xx with its own code, never a 5xx. One table of cases, one test that
 * walks it: adding a case is one line. Each case walked is recorded for the reliability report.
 *
 * Requests go through node:http with the path exactly as written: fetch would resolve "..", "%2e%2e"
 * and friends before the server ever saw them.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insertTestJob } from '../helpers/fixtures.js'
import { record } from '../helpers/reliability.js'
import { startTestService, type TestService } from '../helpers/service.js'

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

let service: TestService
let jobId: string
const MISSING = '00000000-0000-4000-8000-000000000000'

beforeAll(async () => {
  service = await startTestService({ worker: false })
  jobId = (await insertTestJob(service.db.db, 2)).jobId
})
afterAll(() => service?.stop())

/** Sends the request with its path byte for byte as given; the body is parsed as JSON when it is JSON. */
function send(c: Case): Promise<{ status: number; body: any }> {
  const { hostname, port } = new URL(service.api.url)
  const requestPath = c.path.replaceAll('JOB', jobId).replaceAll('MISSING', MISSING)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname, port, method: c.method ?? 'GET', path: requestPath, headers: c.headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {
            // not JSON: kept as text for the failure message
          }
          resolve({ status: res.statusCode ?? 0, body })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    // An accepted stream would never end: give up on it, as a failure.
    req.setTimeout(5_000, () => {
      req.destroy()
      resolve({ status: 0, body: 'no answer within 5 s (a stream was opened?)' })
    })
    req.end()
  })
}

describe('route inputs', () => {
  it('each get their own 4xx code, never a 5xx', async () => {
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
  })
})
