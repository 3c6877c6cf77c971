/** Every route answers bad ids and parameters with a 4xx and a specific code, through one error funnel. */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestService, type TestService } from '../helpers/service.js'
import { insertTestJob } from '../helpers/fixtures.js'

let service: TestService
let jobId: string

beforeAll(async () => {
  service = await startTestService({ worker: false })
  jobId = (await insertTestJob(service.db.db, 2)).jobId
})
afterAll(() => service?.stop())

const missing = '00000000-0000-4000-8000-000000000000'

it('answers bad requests with their own codes', async () => {
  const cases: [string, number, string][] = [
    ['/api/jobs/not-a-uuid', 400, 'invalid_job_id'],
    [`/api/jobs/${missing}`, 404, 'job_not_found'],
    [`/api/jobs/${jobId}/runs/0`, 400, 'invalid_run_number'],
    [`/api/jobs/${jobId}/runs/abc`, 400, 'invalid_run_number'],
    [`/api/jobs/${jobId}/runs/3`, 404, 'run_not_found'],
    [`/api/jobs/${missing}/runs/1`, 404, 'job_not_found'],
    [`/api/jobs/${jobId}/runs/3/logs/stream`, 404, 'run_not_found'],
    [`/api/jobs/${jobId}/runs/1/logs/stream?last_event_id=-1`, 400, 'invalid_last_event_id'],
    ['/api/jobs?limit=500', 400, 'invalid_limit'],
    ['/api/jobs?status=bogus', 400, 'invalid_status'],
    ['/api/jobs?colour=blue', 400, 'invalid_query'],
    ['/api/nothing-here', 404, 'not_found'],
  ]
  const failures: string[] = []
  for (const [path, status, code] of cases) {
    const res = await fetch(`${service.api.url}${path}`)
    const body = (await res.json()) as any
    if (res.status !== status || body?.error?.code !== code || !body.error.message) {
      failures.push(`${path}: expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`)
    }
  }
  expect(failures).toEqual([])
})

it('answers the health check', async () => {
  const res = await fetch(`${service.api.url}/api/health`)
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ status: 'ok', database: 'ok', temporal: 'ok' })
})
