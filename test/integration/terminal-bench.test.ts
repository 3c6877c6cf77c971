/**
 * Terminal-Bench 1 tasks: run by the terminus harness (`tb run`), and by the harbor harness after
 * `harbor task migrate`. There is no Docker here, so `tb` is test/fake-tb/tb: the real Terminal-Bench
 * CLI with its Docker layer replaced (see its README); Harbor is the real one, through the test-only
 * environment.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, readSse, upload, waitForJob, type SseEvent } from '../helpers/api-client.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'

const TASKS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks')
let service: TestService

beforeAll(async () => {
  service = await startTestService({ env: { TB_BIN: path.join(PROJECT_ROOT, 'test', 'fake-tb', 'tb') } })
})
afterAll(() => service?.stop())

async function submit(task: string, harness: 'terminus' | 'harbor') {
  const res = await upload(service.api.url, {
    file: await zipDirectory(path.join(TASKS, task)),
    filename: `${task}.zip`,
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1', harness },
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}

describe('Terminal-Bench 1 tasks', () => {
  let passing: { job: any; run: any; events: SseEvent[] }
  let failing: any
  let slow: any
  let migrated: { job: any; run: any }

  beforeAll(async () => {
    const [pass, fail, slowJob, viaHarbor] = await Promise.all([
      submit('tb-hello', 'terminus'),
      submit('tb-hello-fail', 'terminus'),
      submit('tb-hello-slow', 'terminus'),
      submit('tb-hello', 'harbor'),
    ])
    const events = readSse(`${service.api.url}/api/jobs/${pass.job_id}/runs/1/logs/stream`)
    const done = (id: string) => waitForJob(service.api.url, id, (j) => j.status === 'completed', 150_000)
    const [passJob, failJob, slowDone, harborJob] = await Promise.all([
      done(pass.job_id),
      done(fail.job_id),
      done(slowJob.job_id),
      done(viaHarbor.job_id),
    ])
    const run = async (job: any) => (await getJson(service.api.url, `/api/jobs/${job.job_id}/runs/1`)).body
    passing = { job: passJob, run: await run(passJob), events: (await events).events }
    failing = await run(failJob)
    slow = await run(slowDone)
    migrated = { job: harborJob, run: await run(harborJob) }
  }, 200_000)

  it('runs a task with tb: resolved is passed, with its test counts and phases', () => {
    expect(passing.job).toMatchObject({
      harness: 'terminus',
      task_name: 'tb-hello',
      tasks: [{ task_index: 0, name: 'tb-hello', format: 'terminal-bench' }],
    })
    expect(passing.run).toMatchObject({ status: 'completed', outcome: 'passed', reward: 1, attempts: 1 })
    expect(passing.run.tests).toMatchObject({ failed: 0 })
    expect(passing.run.tests.passed).toBeGreaterThan(0)
    expect(passing.run.phase_timings.agent_execution.duration_sec).toBeGreaterThanOrEqual(0)
    expect(passing.run.phase_timings.verifier.duration_sec).toBeGreaterThanOrEqual(0)
    const phases = passing.events.filter((e) => e.event === 'phase').map((e) => e.data.phase)
    expect(phases).toEqual(expect.arrayContaining(['agent', 'verifier']))
    const streams = new Set(passing.events.filter((e) => e.event === 'log').map((e) => e.data.stream))
    expect([...streams]).toEqual(expect.arrayContaining(['runner', 'tb', 'agent', 'verifier']))
  })

  it('scores unresolved tests as failed, and an agent that outran its timeout as failed with the timeout beside it', () => {
    expect(failing, failing.error_message).toMatchObject({ outcome: 'failed', reward: 0, error_class: null })
    expect(failing.tests.failed).toBeGreaterThan(0)
    expect(slow).toMatchObject({ outcome: 'failed', reward: 0, error_class: null })
    expect(slow.error_message).toMatch(/timeout|timed out/i)
  })

  it('converts the same task with harbor task migrate for the harbor harness, and it passes there', () => {
    expect(migrated.job).toMatchObject({
      harness: 'harbor',
      task_name: 'tb-hello',
      tasks: [{ name: 'tb-hello', format: 'terminal-bench' }],
    })
    expect(migrated.run).toMatchObject({ outcome: 'passed', reward: 1 })
  })
})
