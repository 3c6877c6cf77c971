/**
 * Uploading a dataset through the upload route (`app.request()`, a real database, the real task
 * checker and Harbor's conversion of Terminal-Bench tasks): one job of tasks × n_runs, its runs
 * interleaved over the tasks, one workflow for all of them; a dataset refused as a whole, naming the
 * task at fault and leaving nothing behind; the limit on tasks; an Idempotency-Key's replay.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, taskChecker, uploadTo, type TestApp } from '../helpers/api-app.js'
import { buildZip, harborTask, miniDataset, type ZipSpec } from '../helpers/task-zips.js'

const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2' }
const MINI_TASKS = [
  { name: 'hello-fail', format: 'harbor' },
  { name: 'hello-pass', format: 'harbor' },
  { name: 'tb-hello', format: 'terminal-bench' },
]

const checker = taskChecker()
let t: TestApp
beforeAll(async () => {
  t = await createTestApp({}, { taskChecker: checker, harnessBins: 'local' })
})
afterAll(async () => {
  await t?.close()
  await checker.close()
})

/** A dataset `suite/` of Harbor tasks, one folder per entry, each with this task.toml. */
async function dataset(tasks: Record<string, string>): Promise<Buffer> {
  const spec: ZipSpec = {}
  for (const [folder, toml] of Object.entries(tasks)) Object.assign(spec, harborTask(`suite/${folder}/`, toml))
  return buildZip(spec)
}

const named = (name: string) => `[task]\nname = "${name}"\n`

/** What the app holds: jobs, their tasks and runs, stored tasks, upload directories. */
async function leftovers(app: TestApp) {
  const count = async (table: 'jobs' | 'job_tasks' | 'runs' | 'job_secrets') =>
    Number(
      (
        await app.db.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )
  const files = (dir: string) => readdir(path.join(app.config.dataDir, dir)).catch(() => [])
  return {
    jobs: await count('jobs'),
    job_tasks: await count('job_tasks'),
    runs: await count('runs'),
    job_secrets: await count('job_secrets'),
    stored_tasks: await files('tasks'),
    uploads: await files('uploads'),
  }
}

describe('a dataset upload', () => {
  it('is one job of tasks × n_runs, its runs interleaved over the tasks, started once', async () => {
    const started = t.started.length
    const res = await uploadTo(t.app, await miniDataset(), FIELDS)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({
      task_name: 'mini',
      n_tasks: 3,
      runs_per_task: 2,
      n_runs: 6,
      runs_queued: 6,
      max_parallel: expect.any(Number),
      source_job_id: null,
      status: 'queued',
    })
    expect(res.body.tasks.map((task: any) => ({ name: task.name, format: task.format }))).toEqual(MINI_TASKS)
    expect(res.body.tasks.map((task: any) => task.task_index)).toEqual([0, 1, 2])
    for (const task of res.body.tasks) expect(task.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(new Set(res.body.tasks.map((task: any) => task.sha256)).size).toBe(3)

    const jobId = res.body.job_id
    expect(t.started.slice(started)).toEqual([expect.objectContaining({ jobId, nRuns: 6 })])

    const detail = (await (await t.app.request(`/api/jobs/${jobId}`)).json()) as any
    expect(detail.runs.map((r: any) => [r.run_number, r.task_index])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 0],
      [5, 1],
      [6, 2],
    ])
    // Each task stored once, under its hash.
    const stored = await readdir(path.join(t.config.dataDir, 'tasks'))
    for (const task of res.body.tasks) expect(stored).toContain(task.sha256)
  })

  it('runs every task at once by default, as a single task runs all its runs', async () => {
    const res = await uploadTo(t.app, await miniDataset(), FIELDS)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.max_parallel).toBe(6)
    expect(t.started.at(-1)).toMatchObject({ jobId: res.body.job_id, maxParallel: 6 })

    const asked = await uploadTo(t.app, await miniDataset(), { ...FIELDS, max_parallel: '5' })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    expect(asked.body.max_parallel).toBe(5)
  })

  it('answers a repeated Idempotency-Key with the first job, creating nothing', async () => {
    const zip = await miniDataset()
    const headers = { 'Idempotency-Key': 'dataset-upload-once' }
    const send = async () => {
      const form = new FormData()
      form.append('file', new Blob([zip], { type: 'application/zip' }), 'mini.zip')
      for (const [name, value] of Object.entries(FIELDS)) form.append(name, value)
      const res = await t.app.request('/api/upload', { method: 'POST', body: form, headers })
      return { status: res.status, body: (await res.json()) as any }
    }
    const first = await send()
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    const before = await leftovers(t)
    const started = t.started.length

    const again = await send()
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ job_id: first.body.job_id, idempotent_replay: true, n_tasks: 3, n_runs: 6 })
    expect(again.body.tasks).toEqual(first.body.tasks)
    expect(t.started.length).toBe(started)
    expect(await leftovers(t)).toEqual(before)
  })
})

describe('a dataset refused', () => {
  it('names the task at fault when a task fails its harness check, and leaves nothing behind', async () => {
    const app = await createTestApp({}, { taskChecker: checker })
    try {
      const zip = await dataset({
        'a-good': named('org/good-one'),
        'b-good': named('org/good-two'),
        'c-bad': `${named('org/bad')}[environment]\nworkdir = "/app/../../etc"\n`,
      })
      const res = await uploadTo(app.app, zip, FIELDS)
      expect(res.status, JSON.stringify(res.body)).toBe(422)
      expect(res.body.error).toMatchObject({ code: 'invalid_task', field: 'file' })
      expect(res.body.error.message).toMatch(/^task "c-bad": /)
      expect(app.started).toEqual([])
      expect(await leftovers(app)).toEqual({
        jobs: 0,
        job_tasks: 0,
        runs: 0,
        job_secrets: 0,
        stored_tasks: [],
        uploads: [],
      })
    } finally {
      await app.close()
    }
  })

  it('names the task at fault when a task is malformed', async () => {
    const app = await createTestApp()
    try {
      const spec: ZipSpec = { ...harborTask('suite/one/', named('one')), ...harborTask('suite/two/', named('two')) }
      delete spec['suite/two/instruction.md']
      const res = await uploadTo(app.app, await buildZip(spec), FIELDS)
      expect(res.status, JSON.stringify(res.body)).toBe(422)
      expect(res.body.error.code).toBe('missing_task_file')
      expect(res.body.error.message).toMatch(/^task "two": /)
      expect(await leftovers(app)).toMatchObject({ jobs: 0, job_tasks: 0, stored_tasks: [], uploads: [] })
    } finally {
      await app.close()
    }
  })

  it('removes every stored task again when the job cannot be started', async () => {
    const app = await createTestApp()
    try {
      app.start = async () => {
        throw new Error('Temporal is not reachable')
      }
      const zip = await dataset({ one: named('one'), two: named('two'), three: named('three') })
      const res = await uploadTo(app.app, zip, FIELDS)
      expect(res).toMatchObject({ status: 503, body: { error: { code: 'orchestrator_unavailable' } } })
      expect(app.started).toHaveLength(1)
      expect(await leftovers(app)).toMatchObject({ jobs: 0, job_tasks: 0, runs: 0, stored_tasks: [], uploads: [] })
    } finally {
      await app.close()
    }
  })

  it('refuses two tasks of one name: 422 duplicate_task_name, naming the second', async () => {
    const app = await createTestApp()
    try {
      const res = await uploadTo(app.app, await dataset({ a: named('org/same'), b: named('org/same') }), FIELDS)
      expect(res.status, JSON.stringify(res.body)).toBe(422)
      expect(res.body.error).toMatchObject({ code: 'duplicate_task_name', field: 'file' })
      expect(res.body.error.message).toMatch(/^task "b": .*"org\/same".*"a"/)
      expect(await leftovers(app)).toMatchObject({ jobs: 0, stored_tasks: [] })
    } finally {
      await app.close()
    }
  })

  it('refuses more tasks than DATASET_MAX_TASKS: 413 too_many_tasks', async () => {
    const app = await createTestApp({ DATASET_MAX_TASKS: '2' })
    try {
      const res = await uploadTo(app.app, await dataset({ a: named('a'), b: named('b'), c: named('c') }), FIELDS)
      expect(res.status, JSON.stringify(res.body)).toBe(413)
      expect(res.body.error.code).toBe('too_many_tasks')
      expect(res.body.error.message).toContain('at most 2')
      expect(await leftovers(app)).toMatchObject({ jobs: 0, stored_tasks: [] })

      const two = await uploadTo(app.app, await dataset({ a: named('a'), b: named('b') }), FIELDS)
      expect(two.status, JSON.stringify(two.body)).toBe(201)
      expect(two.body).toMatchObject({ n_tasks: 2, n_runs: 4 })
    } finally {
      await app.close()
    }
  })
})
