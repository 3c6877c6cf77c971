/**
 * Cancel on the local host: a job with a run mid-harness and a run not yet started (max_parallel 1).
 * The harness gets SIGTERM and Harbor's own clean-up runs; the run's files leave the host; both runs
 * and the job end `cancelled`; a finished job cannot be cancelled.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readSse, upload, waitForJob } from '../helpers/api-client.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { slowTask } from '../helpers/task-zips.js'

let service: TestService
beforeAll(async () => {
  service = await startTestService()
})
afterAll(() => service?.stop())

it('cancels a running run and a queued one, and then refuses to cancel again', async () => {
  const res = await upload(service.api.url, {
    file: await slowTask(60),
    filename: 'slow.zip',
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2', max_parallel: '1' },
  })
  const jobId = res.body.job_id
  const stream = `${service.api.url}/api/jobs/${jobId}/runs/1/logs/stream`
  await readSse(stream, { stopWhen: (e) => e.event === 'log' && e.data.line === 'slow step 2/60' })

  const started = Date.now()
  expect((await fetch(`${service.api.url}/api/jobs/${jobId}/cancel`, { method: 'POST' })).status).toBe(202)
  const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'cancelled', 120_000)
  expect(Date.now() - started).toBeLessThan(60_000)
  expect(job.runs.map((r: any) => [r.run_number, r.status, r.outcome])).toEqual([
    [1, 'cancelled', null],
    [2, 'cancelled', null],
  ])
  expect(job.runs[1].attempts).toBe(0) // never started

  const events = (await readSse(stream)).events
  expect(events.filter((e) => e.event === 'log' && e.data.stream === 'runner').map((e) => e.data.line)).toContain(
    'cancelled: stopping the harness',
  )
  expect(events.some((e) => e.event === 'phase' && e.data.event === 'trial_cancelled')).toBe(true)
  expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'cancelled' } })
  expect(existsSync(path.join(service.config.hosts[0]!.workDir, 'runs', jobId))).toBe(false)
  // The slot was given back.
  const open = await service.db.db
    .selectFrom('run_attempts')
    .select('run_id')
    .where('finished_at', 'is', null)
    .execute()
  expect(open).toEqual([])

  const again = await fetch(`${service.api.url}/api/jobs/${jobId}/cancel`, { method: 'POST' })
  expect(again.status).toBe(409)
  expect(((await again.json()) as any).error.code).toBe('job_finished')
  const unknown = await fetch(`${service.api.url}/api/jobs/00000000-0000-4000-8000-000000000000/cancel`, {
    method: 'POST',
  })
  expect(unknown.status).toBe(404)
}, 180_000)
