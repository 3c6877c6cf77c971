/**
 * A harness error starts a new attempt of the same run, through the whole service: the real
 * `harbor` crashes in a test-only Harbor environment (test/harbor-env/harbor_runner_testenv/faults.py)
 * on its first attempt; the second, after the backoff, passes; both attempts are kept.
 *
 * The rest of the retry logic is tested layer by layer: which errors are retried, the backoff and its
 * cap, RUN_MAX_ATTEMPTS and the outcome of the last attempt in test/workflows/run-workflow.test.ts;
 * a job whose runs could not be carried out ending `failed` in test/activities/job-activities.test.ts;
 * a run stopped past its time limit in test/activities/run-harness.test.ts and
 * test/integration/upload-time-limit.test.ts.
 */
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, upload, waitForJob } from '../helpers/api-client.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'

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
