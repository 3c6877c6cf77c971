/**
 * The workers check a job's agent and environment against their own ALLOWED_IMPORT_PATHS before
 * anything of an attempt starts: a job the API accepted under another list (the list changed since,
 * or the API and the workers disagree) ends its attempt with a clear error, its harness never started.
 */
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, upload, waitForJob } from '../helpers/api-client.js'
import { recordAttacks } from '../helpers/reliability.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'

const ENVIRONMENT = 'harbor_runner_testenv:CrashFirstAttemptEnvironment'

let service: TestService
beforeAll(async () => {
  service = await startTestService({ worker: false, env: { RUN_MAX_ATTEMPTS: '1' } })
})
afterAll(() => service?.stop())

recordAttacks('import_path')

it('refuses an attempt whose environment the worker does not allow, before starting anything', async () => {
  expect(service.config.harness.allowedImportPaths).toContain(ENVIRONMENT)
  const worker = service.spawnWorker({ ALLOWED_IMPORT_PATHS: '' })
  try {
    const res = await upload(service.api.url, {
      file: await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')),
      filename: 'hello-pass.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1', environment: ENVIRONMENT },
    })
    expect(res.status).toBe(201)
    const jobId = res.body.job_id
    await waitForJob(service.api.url, jobId, (j) => j.status !== 'queued' && j.status !== 'running', 120_000)
    const run = (await getJson(service.api.url, `/api/jobs/${jobId}/runs/1`)).body
    expect(run).toMatchObject({ outcome: 'error', error_class: 'infra', attempts: 1 })
    expect(run.error_message).toContain(`environment ${ENVIRONMENT} is an import path this worker does not allow`)
    expect(run.error_message).toContain('ALLOWED_IMPORT_PATHS')
    const log = await (await fetch(`${service.api.url}/api/jobs/${jobId}/runs/1/logs`)).text()
    expect(log).not.toContain('starting on local')
  } finally {
    worker.kill('SIGTERM')
    await worker
  }
}, 180_000)
