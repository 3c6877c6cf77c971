/**
 * Cancel through the whole service on the local host: a job with three runs mid-harness in the
 * host's warm runner and one not yet started (max_parallel 3). Each harness is asked to stop and
 * Harbor's own clean-up runs; the runs' files leave the host and their slots are given back; every
 * run and the job end `cancelled`; the runner is left with no trial and no trial's environment.
 *
 * What the workflows and activities do on a cancel is tested layer by layer: RunWorkflow and
 * JobWorkflow (through run groups too) in test/workflows, the harness activity's stop, grace and kill
 * in test/activities/run-harness.test.ts, the job's records in test/activities/job-activities.test.ts,
 * the cancel route in test/integration/route-inputs.test.ts.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readSse, upload, waitForJob } from '../helpers/api-client.js'
import { eventually } from '../helpers/eventually.js'
import { runnersOf } from '../helpers/runners.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { waitForSlowStep } from '../helpers/slow-steps.js'
import { slowTask } from '../helpers/task-zips.js'

const STEPS = 60

let service: TestService
beforeAll(async () => {
  service = await startTestService()
})
afterAll(() => service?.stop())

/** Waits until `nRuns` runs of the job have logged slow step `step`: their harnesses are mid-agent. */
function waitForStep(jobId: string, step: number, nRuns: number): Promise<void> {
  return waitForSlowStep(service.db.db, jobId, step, STEPS, nRuns)
}

it('cancels running harnesses and a run not yet started: harnesses stopped, files removed, slots freed', async () => {
  const res = await upload(service.api.url, {
    file: await slowTask(STEPS),
    filename: 'slow.zip',
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '4', max_parallel: '3' },
  })
  expect(res.status).toBe(201)
  const jobId = res.body.job_id
  await waitForStep(jobId, 2, 3)

  const started = Date.now()
  expect((await fetch(`${service.api.url}/api/jobs/${jobId}/cancel`, { method: 'POST' })).status).toBe(202)
  const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'cancelled', 120_000)
  expect(Date.now() - started).toBeLessThan(60_000)
  expect(job.runs.map((r: any) => [r.run_number, r.status, r.outcome, r.attempts])).toEqual([
    [1, 'cancelled', null, 1],
    [2, 'cancelled', null, 1],
    [3, 'cancelled', null, 1],
    [4, 'cancelled', null, 0], // never started
  ])

  for (const n of [1, 2, 3]) {
    const events = (await readSse(`${service.api.url}/api/jobs/${jobId}/runs/${n}/logs/stream`)).events
    const runner = events.filter((e) => e.event === 'log' && e.data.stream === 'runner').map((e) => e.data.line)
    expect(runner, `run ${n}`).toContain('cancelled: stopping the harness')
    // Harbor's own clean-up ran.
    expect(
      events.some((e) => e.event === 'phase' && e.data.event === 'trial_cancelled'),
      `run ${n}`,
    ).toBe(true)
    expect(events.at(-1), `run ${n}`).toMatchObject({ event: 'end', data: { status: 'cancelled' } })
  }
  const workDir = service.config.hosts[0]!.workDir
  expect(existsSync(path.join(workDir, 'runs', jobId))).toBe(false)
  // The slots were given back.
  const open = await service.db.db
    .selectFrom('run_attempts')
    .select('run_id')
    .where('finished_at', 'is', null)
    .execute()
  expect(open).toEqual([])
  // The runner runs no trial any more, and every trial's environment is gone.
  const runners = await eventually(
    () => runnersOf(workDir),
    (seen) => seen.every((r) => r.state.attempts === 0 && r.children.length === 0),
    { timeoutMs: 30_000, everyMs: 500 },
  )
  expect(runners.length).toBeGreaterThan(0)
  expect(runners.map((r) => [r.state.attempts, r.children])).toEqual(runners.map(() => [0, []]))
}, 180_000)
