/**
 * The warm harness's runners through the whole service: a runner killed under a running attempt
 * ends it as an infra error, retried as a new attempt in a new runner; and a worker of a new build
 * (a release) starts a new runner for new attempts while the old runner finishes the attempt it
 * holds, which the new worker re-attaches to, and then exits.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readSse, upload, waitForJob } from '../helpers/api-client.js'
import { eventually } from '../helpers/eventually.js'
import { runnersOf } from '../helpers/runners.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { slowTask } from '../helpers/task-zips.js'

let service: TestService
beforeAll(async () => {
  service = await startTestService({ worker: false })
})
afterAll(() => service?.stop())

const workDir = () => service.config.hosts[0]!.workDir
const slow = async (steps: number) =>
  (
    await upload(service.api.url, {
      file: await slowTask(steps),
      filename: 'slow.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' },
    })
  ).body.job_id as string
const until = (jobId: string, line: string) =>
  readSse(`${service.api.url}/api/jobs/${jobId}/runs/1/logs/stream`, {
    stopWhen: (e) => e.event === 'log' && e.data.line === line,
    timeoutMs: 120_000,
  })

it('retries as a new attempt, in a new runner, an attempt whose runner was killed', async () => {
  const worker = service.spawnWorker()
  const jobId = await slow(20)
  await until(jobId, 'slow step 2/20')
  const [runner] = await runnersOf(workDir())
  expect(runner!.state.attempts).toBe(1)
  process.kill(runner!.state.pid, 'SIGKILL')

  const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'completed', 180_000)
  expect(job.runs[0]).toMatchObject({ outcome: 'passed', attempts: 2 })
  const run = (await (await fetch(`${service.api.url}/api/jobs/${jobId}/runs/1`)).json()) as any
  expect(run.attempt_history[0]).toMatchObject({ outcome: 'error', error_class: 'infra' })
  expect(run.attempt_history[0].error_message).toMatch(/ended without an exit status/)
  expect(run.attempt_history[1]).toMatchObject({ outcome: 'passed' })
  expect((await runnersOf(workDir())).map((r) => r.state.pid)).not.toContain(runner!.state.pid)
  worker.kill('SIGTERM')
  await worker
}, 240_000)

it('lets a new build take new attempts while the old runner finishes its own, then exit', async () => {
  const oldWorker = service.spawnWorker()
  const held = await slow(25)
  await until(held, 'slow step 2/25')
  const [old] = await runnersOf(workDir())
  // A release: the worker restarts with a change that makes its runners another build.
  oldWorker.kill('SIGTERM')
  await oldWorker
  const newWorker = service.spawnWorker({ RUNNER_IDLE_EXIT_SEC: '901' })
  const runners = await eventually(
    () => runnersOf(workDir()),
    (rs) => rs.some((r) => r.state.build !== old!.state.build) && rs.some((r) => r.id === old!.id && r.state.draining),
    { timeoutMs: 60_000, everyMs: 250 },
  )
  const fresh = runners.find((r) => r.state.build !== old!.state.build)!
  expect(runners.find((r) => r.id === old!.id)!.state).toMatchObject({ draining: true, attempts: 1 })

  const next = await slow(2)
  const done = await waitForJob(service.api.url, next, (j) => j.status === 'completed', 120_000)
  expect(done.runs[0]).toMatchObject({ outcome: 'passed', attempts: 1 })
  const heldJob = await waitForJob(service.api.url, held, (j) => j.status === 'completed', 180_000)
  // The held attempt finished in the old runner, once, followed by the new worker.
  expect(heldJob.runs[0]).toMatchObject({ outcome: 'passed', attempts: 1 })
  const log = await fetch(`${service.api.url}/api/jobs/${held}/runs/1/logs`).then((r) => r.text())
  expect(log).toMatch(/re-attached to the running harness/)
  expect(log.match(/slow step 25\/25/g)).toHaveLength(1)
  // The new job ran in the new runner; the old one, drained, exits.
  const after = await eventually(
    () => runnersOf(workDir()),
    (rs) => !rs.some((r) => r.id === old!.id),
    { timeoutMs: 30_000, everyMs: 250 },
  )
  expect(after.map((r) => r.id)).toEqual([fresh.id])
  newWorker.kill('SIGTERM')
  await newWorker
}, 300_000)
