/**
 * infra and harness errors start a new attempt of the same run (with backoff, up to
 * RUN_MAX_ATTEMPTS); every attempt is kept and the run's outcome is its last attempt's. Faults come
 * from test-only Harbor environments (test/harbor-env/harbor_runner_testenv/faults.py) that the real
 * `harbor` runs.
 */
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, upload, waitForJob } from '../helpers/api-client.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { slowTask, zipDirectory } from '../helpers/task-zips.js'

let service: TestService
beforeAll(async () => {
  service = await startTestService({ env: { RUN_MAX_ATTEMPTS: '2' } })
})
afterAll(() => service?.stop())

async function runWith(environment: string) {
  const res = await upload(service.api.url, {
    file: await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')),
    filename: 'hello-pass.zip',
    fields: {
      model: 'openai/gpt-4o',
      agent: 'oracle',
      n_runs: '1',
      environment: `harbor_runner_testenv:${environment}`,
    },
  })
  expect(res.status).toBe(201)
  const job = await waitForJob(
    service.api.url,
    res.body.job_id,
    (j) => j.status !== 'queued' && j.status !== 'running',
    120_000,
  )
  return { job, run: (await getJson(service.api.url, `/api/jobs/${job.job_id}/runs/1`)).body }
}

it('retries a harness crash as a new attempt, and the run passes on the second', async () => {
  const { job, run } = await runWith('CrashFirstAttemptEnvironment')
  expect(job.status).toBe('completed')
  expect(run).toMatchObject({ outcome: 'passed', reward: 1, attempts: 2 })
  const [first, second] = run.attempt_history
  expect(first).toMatchObject({
    attempt: 1,
    host: 'local',
    outcome: 'error',
    error_class: 'harness',
    harness_exit_code: 1,
  })
  expect(first.error_message).toMatch(/SimulatedHarnessCrash: simulated harness crash/)
  expect(second).toMatchObject({ attempt: 2, host: 'local', outcome: 'passed' })
  // The second attempt began after the backoff.
  expect(Date.parse(second.started_at) - Date.parse(first.finished_at)).toBeGreaterThanOrEqual(4000)
}, 150_000)

it('ends a permanent infra failure as error/infra after the configured attempts, and the job as failed', async () => {
  const { job, run } = await runWith('BrokenEnvironment')
  expect(run).toMatchObject({ outcome: 'error', error_class: 'infra', attempts: 2 })
  expect(run.attempt_history.map((a: any) => [a.attempt, a.error_class])).toEqual([
    [1, 'infra'],
    [2, 'infra'],
  ])
  expect(run.error_message).toMatch(/simulated host failure/)
  // Nothing could run at all.
  expect(job.status).toBe('failed')
  expect(job.error).toMatch(/no run could be carried out/)
}, 150_000)

it('stops a run that goes past its time limit, and records the agent as the culprit', async () => {
  const limited = await startTestService({ env: { RUN_TIME_LIMIT_MAX_SEC: '20', RUN_MAX_ATTEMPTS: '1' } })
  try {
    const res = await upload(limited.api.url, {
      file: await slowTask(90),
      filename: 'slow.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' },
    })
    expect(res.status).toBe(201)
    const started = Date.now()
    const job = await waitForJob(
      limited.api.url,
      res.body.job_id,
      (j) => j.status !== 'queued' && j.status !== 'running',
      120_000,
    )
    expect(Date.now() - started).toBeLessThan(55_000) // less than the solution's 90 s
    expect(job.runs[0]).toMatchObject({ outcome: 'error', error_class: 'agent', attempts: 1 })
    expect(job.runs[0].error_message).toMatch(/went past its time limit of 20 s .* during agent/)
  } finally {
    await limited.stop()
  }
}, 150_000)
