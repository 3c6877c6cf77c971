/**
 * A worker killed (SIGKILL) while its harness runs: the harness goes on, detached; a new worker
 * re-attaches to it instead of starting a second one, and continues the log where the dead worker
 * left it. The run finishes with its log complete and without duplicates.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readSse, upload, waitForJob } from '../helpers/api-client.js'
import { record } from '../helpers/reliability.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { slowTask } from '../helpers/task-zips.js'

// Long enough to outlive the 20 s heartbeat timeout, so the new worker finds the harness running.
const STEPS = 30

let service: TestService
beforeAll(async () => {
  service = await startTestService({ worker: false })
})
afterAll(() => service?.stop())

it('finishes a run whose worker was killed mid-run, with its log complete and without duplicates', async () => {
  const first = service.spawnWorker()
  const { status, body } = await upload(service.api.url, {
    file: await slowTask(STEPS),
    filename: 'slow.zip',
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' },
  })
  expect(status).toBe(201)
  const jobId = body.job_id
  const stream = `${service.api.url}/api/jobs/${jobId}/runs/1/logs/stream`

  // Kill the worker once the agent is well under way.
  const beforeKill = await readSse(stream, {
    stopWhen: (e) => e.event === 'log' && e.data.line === `slow step 3/${STEPS}`,
    timeoutMs: 90_000,
  })
  first.kill('SIGKILL')
  const killed = await first
  expect(killed.signal).toBe('SIGKILL')

  // The harness outlives it: its lines keep coming into the log only once a new worker re-attaches.
  const second = service.spawnWorker()
  const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'completed', 150_000)
  expect(job.runs[0]).toMatchObject({ status: 'completed', outcome: 'passed', attempts: 1 })

  const all = await readSse(stream)
  expect(all.ended).toBe(true)
  const logs = all.events.filter((e) => e.event === 'log')
  const ids = all.events.filter((e) => e.id !== null).map((e) => Number(e.id))
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
  expect(beforeKill.events.map((e) => e.id)).toEqual(all.events.slice(0, beforeKill.events.length).map((e) => e.id))

  // Every line the solution printed, once and in order: one harness, read without gap or repeat.
  const steps = logs
    .filter((e) => e.data.stream === 'agent' && e.data.line.startsWith('slow step'))
    .map((e) => e.data.line)
  expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => `slow step ${i + 1}/${STEPS}`))
  const runner = logs.filter((e) => e.data.stream === 'runner').map((e) => e.data.line)
  const starts = runner.filter((l) => l.startsWith('starting on local')).length
  const gaps = ids.filter((id, i) => id !== i + 1).length + (steps.length < STEPS ? STEPS - steps.length : 0)
  const ok = job.runs[0].outcome === 'passed' && starts === 1 && gaps === 0
  await record({ row: 'fault', what: 'worker SIGKILL mid-run (local host)', ok, lost: gaps, duplicated: starts - 1 })
  await record({ row: 'run', what: 'worker SIGKILL: run 1', ok })
  expect(runner.filter((l) => l.startsWith('starting on local'))).toHaveLength(1)
  // Re-attached at least once: by the second worker (once more if its own activity attempt missed a
  // heartbeat on a busy machine and was retried, which is correct). Started once is the invariant.
  expect(runner.filter((l) => l.startsWith('re-attached to the running harness')).length).toBeGreaterThanOrEqual(1)
  second.kill('SIGTERM')
}, 240_000)
