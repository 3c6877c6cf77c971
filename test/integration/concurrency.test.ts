/**
 * Uploads at once: 50 different uploads in parallel make 50 distinct jobs, each with all its runs and
 * its workflow; one upload retried 10 times in parallel with its Idempotency-Key makes one job, and
 * every answer names it. No worker: this is about intake, the runs themselves are tested elsewhere.
 */
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { inject } from 'vitest'
import { upload } from '../helpers/api-client.js'
import { record } from '../helpers/reliability.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { buildZip, harborTask } from '../helpers/task-zips.js'

let service: TestService
let temporal: Client

beforeAll(async () => {
  // Above the default 50 active jobs per owner, which the 50 uploads reach, and the default 4 uploads
  // at once per token, which they pass at once.
  service = await startTestService({
    worker: false,
    env: { MAX_ACTIVE_JOBS_PER_TOKEN: '100', MAX_UPLOADS_PER_TOKEN: '100' },
  })
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  const { jobs } = (await (await fetch(`${service.api.url}/api/jobs?limit=200`)).json()) as { jobs?: any[] }
  for (const job of jobs ?? []) {
    await temporal.workflow
      .getHandle(`job-${job.job_id}`)
      .terminate('test over')
      .catch(() => undefined)
  }
  await service?.stop()
  await temporal?.connection.close()
})

async function countWhere(table: 'jobs' | 'runs') {
  const row = await service.db.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

it('makes 50 distinct jobs with all their runs from 50 parallel uploads', async () => {
  // Each upload a different task (its name differs), 1 to 5 runs.
  const inputs = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => ({
      file: await buildZip(harborTask('', `[task]\nname = "test/parallel-${i}"\n`)),
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: String((i % 5) + 1) },
    })),
  )
  const started = Date.now()
  const answers = await Promise.all(inputs.map((input) => upload(service.api.url, input)))
  const seconds = (Date.now() - started) / 1000
  const ok = answers.filter((a) => a.status === 201)
  for (const a of answers) await record({ row: 'request', what: 'parallel upload', ok: a.status === 201 })
  expect(answers.filter((a) => a.status !== 201).map((a) => a.body)).toEqual([])

  const ids = new Set(ok.map((a) => a.body.job_id as string))
  expect(ids.size).toBe(50)
  const expectedRuns = inputs.reduce((sum, i) => sum + Number(i.fields.n_runs), 0)
  expect(await countWhere('jobs')).toBe(50)
  expect(await countWhere('runs')).toBe(expectedRuns)
  let lost = 0
  for (const a of ok) {
    const job = (await (await fetch(`${service.api.url}/api/jobs/${a.body.job_id}`)).json()) as any
    const wanted = Number(inputs[answers.indexOf(a)]!.fields.n_runs)
    const complete = job.runs.length === wanted && job.runs.every((r: any, i: number) => r.run_number === i + 1) ? 0 : 1
    const workflow = await temporal.workflow.getHandle(`job-${a.body.job_id}`).describe()
    lost += complete + (workflow.status.name === 'RUNNING' ? 0 : 1)
    expect(job.task_name).toBe(`test/parallel-${answers.indexOf(a)}`)
  }
  await record({ row: 'fault', what: `50 parallel uploads (${seconds.toFixed(1)} s)`, ok: lost === 0, lost })
  expect(lost).toBe(0)
})

it('makes one job from the same upload sent 10 times at once with one Idempotency-Key', async () => {
  const before = await countWhere('jobs')
  const input = {
    file: await buildZip(harborTask('', '[task]\nname = "test/idempotent"\n')),
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '3' },
    headers: { 'Idempotency-Key': 'ten-at-once-0001' },
  }
  const answers = await Promise.all(Array.from({ length: 10 }, () => upload(service.api.url, input)))
  const statuses = answers.map((a) => a.status).sort()
  const ids = new Set(answers.map((a) => a.body.job_id))
  const duplicated = ids.size - 1
  await record({ row: 'fault', what: 'one upload sent 10 times at once', ok: duplicated === 0, duplicated })
  expect(statuses.filter((s) => s === 201)).toHaveLength(1)
  expect(statuses.filter((s) => s === 200)).toHaveLength(9)
  expect(ids.size).toBe(1)
  expect((await countWhere('jobs')) - before).toBe(1)
})
