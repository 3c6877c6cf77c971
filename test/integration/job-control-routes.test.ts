/**
 * Job control through its routes (`app.request()`, a real database, the workflow's side stubbed by
 * the test app: `setPaused`, `retry`, `start`): pause and resume, retrying ended runs (which runs,
 * the checks, the key a job needs again, sealed and never answered), re-running a job as a new one
 * over the same tasks, and another token's job never found.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/db/database.js'
import { finishJob, insertJobWithRuns } from '../../src/db/jobs.js'
import { setJobPaused } from '../../src/db/run-retries.js'
import { createToken } from '../../src/db/tokens.js'
import type { ErrorClass, RunOutcome } from '../../src/shared/status.js'
import { computeJobMetrics } from '../../src/metrics/job-metrics.js'
import { seal, unseal } from '../../src/secrets/sealed-box.js'
import { JobControlRefused } from '../../src/shared/job-control.js'
import { createTestApp, uploadTo, type TestApp } from '../helpers/api-app.js'
import { miniDataset } from '../helpers/task-zips.js'

const KEY = 'sk-or-v1-job-control-route-secret'
const OTHER_KEY = 'sk-or-v1-another-secret-for-rerun'

let t: TestApp
/** Every answer's body as text, to look for the keys in. */
const bodies: string[] = []

beforeAll(async () => {
  t = await createTestApp({ ALLOWED_IMPORT_PATHS: 'allowed_agents.mine:Agent' }, { harnessBins: 'local' })
})
afterAll(async () => {
  await t?.close()
})

async function post(path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method: 'POST', headers }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    init.headers = { 'Content-Type': 'application/json', ...headers }
  }
  const res = await t.app.request(path, init)
  const text = await res.text()
  bodies.push(text)
  return { status: res.status, body: JSON.parse(text) as any }
}

interface JobSpec {
  tasks?: string[]
  runsPerTask?: number
  key?: string
  owner?: string | null
}

/** A job inserted as an upload inserts one (its runs queued). */
async function insertJob(db: Db, spec: JobSpec = {}): Promise<string> {
  const id = randomUUID()
  const tasks = spec.tasks ?? ['hello']
  const runsPerTask = spec.runsPerTask ?? 2
  await insertJobWithRuns(
    db,
    {
      job: {
        id,
        task_name: tasks.length > 1 ? 'suite' : tasks[0]!,
        harness: 'harbor',
        agent: 'oracle',
        model: 'openai/gpt-4o',
        environment: 'docker',
        runs_per_task: runsPerTask,
        max_parallel: runsPerTask * tasks.length,
        timeout_multiplier: 1,
        idempotency_key: null,
        owner_token_id: spec.owner ?? null,
      },
      tasks: tasks.map((name, i) => ({
        name,
        format: 'harbor',
        sha256: String(i).repeat(64),
        run_time_limit_sec: null,
      })),
      secret: spec.key ? seal(t.masterKey, spec.key, id) : null,
    },
    randomUUID,
    { activeJobs: 1000, activeRuns: 100_000 },
  )
  return id
}

/** Ends runs as a job's workflow would have. */
async function endRuns(
  jobId: string,
  runNumbers: number[],
  outcome: RunOutcome,
  errorClass: ErrorClass | null = null,
  reward: number | null = outcome === 'passed' ? 1 : outcome === 'failed' ? 0 : null,
) {
  await t.db.db
    .updateTable('runs')
    .set({ status: 'completed', outcome, error_class: errorClass, reward, finished_at: new Date() })
    .where('job_id', '=', jobId)
    .where('run_number', 'in', runNumbers)
    .execute()
}

async function secretOf(jobId: string) {
  return t.db.db.selectFrom('job_secrets').selectAll().where('job_id', '=', jobId).executeTakeFirst()
}

describe('pause and resume', () => {
  it('asks the workflow, with the Idempotency-Key, and answers with the job', async () => {
    const jobId = await insertJob(t.db.db)
    const asked: unknown[][] = []
    t.setPaused = async (id, paused, requestId) => {
      asked.push([id, paused, requestId])
      await setJobPaused(t.db.db, id, paused)
    }
    // A queued job is paused as it is; the workflow's activity moves it (here: the stub).
    const paused = await post(`/api/jobs/${jobId}/pause`, undefined, { 'Idempotency-Key': 'pause-1' })
    expect(paused.status).toBe(200)
    expect(paused.body).toMatchObject({ job_id: jobId, status: 'paused' })
    const resumed = await post(`/api/jobs/${jobId}/resume`)
    expect(resumed.status).toBe(200)
    expect(resumed.body).toMatchObject({ job_id: jobId, status: 'running' })
    expect(asked).toEqual([
      [jobId, true, expect.stringContaining('pause-1')],
      [jobId, false, undefined],
    ])
  })

  it('keeps an Idempotency-Key to its action: the same key on another action is another update', async () => {
    const jobId = await insertJob(t.db.db)
    await endRuns(jobId, [1], 'failed')
    const ids: (string | undefined)[] = []
    t.setPaused = async (_id, _paused, requestId) => void ids.push(requestId)
    t.retry = async (_input, runNumbers, requestId) => {
      ids.push(requestId)
      return runNumbers.map((runNumber) => ({ runNumber, retry: 1, firstAttempt: 2 }))
    }
    const headers = { 'Idempotency-Key': 'same-key' }
    expect((await post(`/api/jobs/${jobId}/pause`, undefined, headers)).status).toBe(200)
    expect((await post(`/api/jobs/${jobId}/pause`, undefined, headers)).status).toBe(200)
    expect((await post(`/api/jobs/${jobId}/resume`, undefined, headers)).status).toBe(200)
    expect((await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1] }, headers)).status).toBe(202)
    expect(ids.every((id) => id?.includes('same-key'))).toBe(true)
    expect(ids[0]).toBe(ids[1])
    expect(new Set(ids).size).toBe(3)
  })

  it('refuses a job that has ended: 409 job_finished, the workflow not asked', async () => {
    const jobId = await insertJob(t.db.db)
    await finishJob(t.db.db, jobId, 'completed', computeJobMetrics([]), null)
    let asked = 0
    t.setPaused = async () => void asked++
    for (const action of ['pause', 'resume']) {
      const res = await post(`/api/jobs/${jobId}/${action}`)
      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('job_finished')
      expect(res.body.error.message).toContain(action)
    }
    expect(asked).toBe(0)
  })

  it("answers the workflow's refusals with their codes", async () => {
    const jobId = await insertJob(t.db.db)
    for (const [action, code, status] of [
      ['pause', 'job_already_paused', 409],
      ['resume', 'job_not_paused', 409],
      ['pause', 'job_cancelling', 409],
      ['resume', 'job_finished', 409],
    ] as const) {
      t.setPaused = async () => {
        throw new JobControlRefused(code, `refused: ${code}`)
      }
      const res = await post(`/api/jobs/${jobId}/${action}`)
      expect(res.status, code).toBe(status)
      expect(res.body.error).toEqual({ code, message: `refused: ${code}` })
    }
    expect(t.logged).toEqual([])
  })

  it('answers 503 when the workflow cannot be reached', async () => {
    const jobId = await insertJob(t.db.db)
    t.setPaused = async () => {
      throw new Error('14 UNAVAILABLE: connection refused')
    }
    const res = await post(`/api/jobs/${jobId}/pause`)
    expect(res.status).toBe(503)
    expect(res.body.error.code).toBe('orchestrator_unavailable')
    t.logged.length = 0
  })

  it('refuses a body or a query', async () => {
    const jobId = await insertJob(t.db.db)
    t.setPaused = async () => {}
    expect((await post(`/api/jobs/${jobId}/pause?now=1`)).body.error.code).toBe('invalid_query')
    expect((await post(`/api/jobs/${randomUUID()}/pause`)).status).toBe(404)
  })
})

describe('retry', () => {
  beforeAll(() => {
    t.retry = async (_input, runNumbers) => runNumbers.map((runNumber) => ({ runNumber, retry: 1, firstAttempt: 2 }))
  })

  it("counts an ended job opened again against its owner's active runs", async () => {
    const owner = randomUUID()
    await t.db.db.insertInto('api_tokens').values({ id: owner, name: 'limits', token_sha256: randomUUID() }).execute()
    const ended = await insertJob(t.db.db, { owner, runsPerTask: 3 })
    await endRuns(ended, [1, 2, 3], 'error', 'provider')
    await finishJob(t.db.db, ended, 'completed', computeJobMetrics([]), null)
    // The owner's other job holds all but two of MAX_ACTIVE_RUNS_PER_TOKEN's runs: three do not fit.
    const limit = t.config.limits.activeRunsPerToken
    const busy = await insertJob(t.db.db, { owner, runsPerTask: limit - 2 })
    const res = await t.app.request(`/api/jobs/${ended}/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error_class: 'provider' }),
    })
    // (Open mode answers for every owner: the job's own owner is what counts.)
    expect(res.status).toBe(429)
    expect(((await res.json()) as any).error.code).toBe('too_many_active_runs')
    await t.db.db.deleteFrom('jobs').where('id', 'in', [ended, busy]).execute()
  })

  it('needs run_numbers or error_class, not both, not neither', async () => {
    const jobId = await insertJob(t.db.db)
    await endRuns(jobId, [1], 'error', 'infra')
    for (const body of [{}, { run_numbers: [1], error_class: 'infra' }, { run_numbers: [] }, { error_class: 'x' }]) {
      const res = await post(`/api/jobs/${jobId}/retry`, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.code).toMatch(/^invalid_/)
    }
    const empty = await post(`/api/jobs/${jobId}/retry`)
    expect(empty.status).toBe(400)
    expect(empty.body.error.message).toMatch(/run_numbers or error_class/)
    const unknown = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1], force: true })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error).toMatchObject({ code: 'unknown_field', field: 'force' })
    const notJson = await post(`/api/jobs/${jobId}/retry`, '{"run_numbers": [1')
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } })
  })

  it('refuses a run the job does not have (404) and one that has not ended (409, naming it)', async () => {
    const jobId = await insertJob(t.db.db, { runsPerTask: 3 })
    await endRuns(jobId, [1, 3], 'failed')
    const missing = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1, 99] })
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('run_not_found')
    expect(missing.body.error.message).toContain('99')
    const many = await post(`/api/jobs/${jobId}/retry`, {
      run_numbers: Array.from({ length: 10_000 }, (_, i) => i + 1),
    })
    expect(many.status).toBe(404)
    expect(many.body.error.message.length).toBeLessThan(300)

    const open = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1, 2, 3] })
    expect(open.status).toBe(409)
    expect(open.body.error.code).toBe('run_not_finished')
    expect(open.body.error.message).toMatch(/^run 2 has not ended/)
  })

  it('retries the named runs, answering with what the workflow retried', async () => {
    const jobId = await insertJob(t.db.db, { runsPerTask: 3 })
    await endRuns(jobId, [1, 2, 3], 'failed')
    const asked: unknown[][] = []
    t.retry = async (input, runNumbers, requestId) => {
      asked.push([input, runNumbers, requestId])
      return [{ runNumber: 3, retry: 2, firstAttempt: 4 }]
    }
    const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [3, 3] }, { 'Idempotency-Key': 'retry-1' })
    expect(res.status).toBe(202)
    expect(res.body).toEqual({ job_id: jobId, retried: [{ run_number: 3, retry: 2, first_attempt: 4 }] })
    expect(asked).toEqual([[expect.objectContaining({ jobId, nRuns: 3 }), [3], expect.stringContaining('retry-1')]])
  })

  it('selects by error_class exactly the runs that ended in an error of that class', async () => {
    const jobId = await insertJob(t.db.db, { tasks: ['a', 'b'], runsPerTask: 3 })
    await endRuns(jobId, [1, 4], 'error', 'infra')
    await endRuns(jobId, [2], 'error', 'agent')
    await endRuns(jobId, [3], 'passed')
    await endRuns(jobId, [5], 'failed')
    const asked: number[][] = []
    t.retry = async (_input, runNumbers) => {
      asked.push(runNumbers)
      return runNumbers.map((runNumber) => ({ runNumber, retry: 1, firstAttempt: 2 }))
    }
    const res = await post(`/api/jobs/${jobId}/retry`, { error_class: 'infra' })
    expect(res.status).toBe(202)
    expect(res.body.retried.map((r: any) => r.run_number)).toEqual([1, 4])
    expect(asked).toEqual([[1, 4]])

    const none = await post(`/api/jobs/${jobId}/retry`, { error_class: 'provider' })
    expect(none.status).toBe(409)
    expect(none.body.error.code).toBe('no_runs_to_retry')
    expect(asked).toHaveLength(1)
  })

  it('answers run_not_finished when the workflow retried none of them', async () => {
    const jobId = await insertJob(t.db.db)
    await endRuns(jobId, [1], 'failed')
    t.retry = async () => []
    const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1] })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('run_not_finished')
  })

  it("answers the workflow's refusals with their codes", async () => {
    const jobId = await insertJob(t.db.db)
    await endRuns(jobId, [1], 'failed')
    for (const [code, status] of [
      ['job_cancelling', 409],
      ['no_runs_to_retry', 409],
      ['openrouter_key_required', 422],
    ] as const) {
      t.retry = async () => {
        throw new JobControlRefused(code, `refused: ${code}`)
      }
      const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1] })
      expect(res.status, code).toBe(status)
      expect(res.body.error).toEqual({ code, message: `refused: ${code}` })
    }
  })

  describe('of a job whose key went when it ended', () => {
    async function endedJobWithKey(): Promise<string> {
      const jobId = await insertJob(t.db.db, { key: KEY })
      await endRuns(jobId, [1, 2], 'error', 'provider')
      await finishJob(t.db.db, jobId, 'completed', computeJobMetrics([]), null)
      expect(await secretOf(jobId)).toBeUndefined()
      return jobId
    }

    it('needs the key again: 422 openrouter_key_required, the workflow not asked', async () => {
      const jobId = await endedJobWithKey()
      let asked = 0
      t.retry = async () => {
        asked++
        return []
      }
      const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1] })
      expect(res.status).toBe(422)
      expect(res.body.error).toMatchObject({ code: 'openrouter_key_required', field: 'openrouter_key' })
      expect(asked).toBe(0)
    })

    it('stores the key it brings, sealed to the job, and retries', async () => {
      const jobId = await endedJobWithKey()
      let sealedWhenAsked: unknown
      t.retry = async (_input, runNumbers) => {
        sealedWhenAsked = await secretOf(jobId)
        return runNumbers.map((runNumber) => ({ runNumber, retry: 1, firstAttempt: 2 }))
      }
      const res = await post(`/api/jobs/${jobId}/retry`, { error_class: 'provider', openrouter_key: KEY })
      expect(res.status).toBe(202)
      expect(sealedWhenAsked).toBeDefined()
      const secret = (await secretOf(jobId))!
      expect(secret.ciphertext.includes(Buffer.from(KEY))).toBe(false)
      expect(secret.ciphertext.includes(Buffer.from(KEY.slice(8)))).toBe(false)
      expect(unseal(t.masterKey, secret, jobId)).toBe(KEY)
    })

    it('deletes the stored key again when the workflow refuses the retry', async () => {
      const jobId = await endedJobWithKey()
      let sealedWhenAsked: unknown
      t.retry = async () => {
        sealedWhenAsked = await secretOf(jobId)
        throw new JobControlRefused('job_cancelling', 'the job is being cancelled')
      }
      const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1], openrouter_key: KEY })
      expect(res.status).toBe(409)
      expect(sealedWhenAsked).toBeDefined()
      expect(await secretOf(jobId)).toBeUndefined()
    })

    it('deletes the stored key again when the workflow cannot be reached', async () => {
      const jobId = await endedJobWithKey()
      t.retry = async () => {
        throw new Error('14 UNAVAILABLE: connection refused')
      }
      const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1], openrouter_key: KEY })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('orchestrator_unavailable')
      expect(await secretOf(jobId)).toBeUndefined()
      t.logged.length = 0
    })

    it('keeps the key of a job that still has one', async () => {
      const jobId = await insertJob(t.db.db, { key: KEY })
      await endRuns(jobId, [1], 'error', 'provider')
      const before = (await secretOf(jobId))!
      t.retry = async (_input, runNumbers) => runNumbers.map((runNumber) => ({ runNumber, retry: 1, firstAttempt: 2 }))
      const res = await post(`/api/jobs/${jobId}/retry`, { run_numbers: [1], openrouter_key: OTHER_KEY })
      expect(res.status).toBe(202)
      expect(unseal(t.masterKey, (await secretOf(jobId))!, jobId)).toBe(KEY)
      expect((await secretOf(jobId))!.ciphertext).toEqual(before.ciphertext)
    })
  })
})

describe('rerun', () => {
  let source: any
  beforeAll(async () => {
    const res = await uploadTo(t.app, await miniDataset(), {
      model: 'openai/gpt-4o',
      agent: 'oracle',
      n_runs: '2',
      max_parallel: '3',
      timeout_multiplier: '2',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    source = res.body
  })

  async function rowCount(): Promise<number> {
    const row = await t.db.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  it('makes a new job over the same tasks, naming its source', async () => {
    t.start = async () => {}
    const started = t.started.length
    const res = await post(`/api/jobs/${source.job_id}/rerun`, {
      model: 'anthropic/claude-sonnet-4',
      agent: 'terminus-2',
      n_runs: 3,
      openrouter_key: OTHER_KEY,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({
      source_job_id: source.job_id,
      task_name: 'mini',
      harness: 'harbor',
      model: 'anthropic/claude-sonnet-4',
      agent: 'terminus-2',
      environment: 'docker',
      timeout_multiplier: 2,
      n_tasks: 3,
      runs_per_task: 3,
      n_runs: 9,
      max_parallel: 9,
      status: 'queued',
    })
    const jobId = res.body.job_id
    expect(jobId).not.toBe(source.job_id)
    expect(t.started.slice(started)).toEqual([expect.objectContaining({ jobId, nRuns: 9, maxParallel: 9 })])

    expect(res.body.runs_queued).toBe(9)
    expect(res.body.tasks).toHaveLength(3)
    const detail = (await (await t.app.request(`/api/jobs/${jobId}`)).json()) as any
    expect(detail.tasks.map(({ metrics: _, ...task }: any) => task)).toEqual(res.body.tasks)
    const tasksOf = (tasks: any[]) =>
      tasks.map(({ name, format, sha256, run_time_limit_sec }) => ({ name, format, sha256, run_time_limit_sec }))
    expect(tasksOf(detail.tasks)).toEqual(tasksOf(source.tasks))
    expect(detail.runs.map((r: any) => r.task_index)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2])

    const secret = (await secretOf(jobId))!
    expect(unseal(t.masterKey, secret, jobId)).toBe(OTHER_KEY)
  })

  it("keeps the source's settings not asked for, max_parallel included", async () => {
    const res = await post(`/api/jobs/${source.job_id}/rerun`)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({
      model: 'openai/gpt-4o',
      agent: 'oracle',
      runs_per_task: 2,
      n_runs: 6,
      max_parallel: 3,
      timeout_multiplier: 2,
      source_job_id: source.job_id,
    })
    expect(await secretOf(res.body.job_id)).toBeUndefined()
  })

  it('re-runs a job that ran all its runs at once with all of its own, past MAX_RUNS_PER_JOB too', async () => {
    const upload = await uploadTo(t.app, await miniDataset(), { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2' })
    expect(upload.status, JSON.stringify(upload.body)).toBe(201)
    // As a dataset of 1000 tasks × 2 runs would be: all its 2000 runs at once, above the per-task cap.
    await t.db.db
      .updateTable('jobs')
      .set({ n_runs: 2000, max_parallel: 2000 })
      .where('id', '=', upload.body.job_id)
      .execute()
    const res = await post(`/api/jobs/${upload.body.job_id}/rerun`)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({ n_runs: 6, max_parallel: 6 })
  })

  it("checks the fields as an upload's", async () => {
    const before = await rowCount()
    const cases: [unknown, number, string][] = [
      [{ model: 'not a model!' }, 400, 'invalid_model'],
      [{ agent: 'terminus-2' }, 400, 'invalid_openrouter_key'],
      [{ n_runs: 0 }, 400, 'invalid_n_runs'],
      [{ max_parallel: 'many' }, 400, 'invalid_max_parallel'],
      [{ agent: 'evil.module:Agent' }, 422, 'import_path_not_allowed'],
      [{ environment: 'evil.module:Env' }, 422, 'import_path_not_allowed'],
      [{ harness: 'terminus' }, 400, 'unknown_field'],
      [{ timeout_multiplier: 3 }, 400, 'unknown_field'],
      [[], 400, 'invalid_body'],
    ]
    for (const [body, status, code] of cases) {
      const res = await post(`/api/jobs/${source.job_id}/rerun`, body)
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect(res.body.error.code, JSON.stringify(body)).toBe(code)
    }
    expect(await rowCount()).toBe(before)
  })

  it('takes an agent by an allowed import path', async () => {
    const res = await post(`/api/jobs/${source.job_id}/rerun`, {
      agent: 'allowed_agents.mine:Agent',
      openrouter_key: OTHER_KEY,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.agent).toBe('allowed_agents.mine:Agent')
  })

  it('leaves no job behind when the workflow cannot be started: 503', async () => {
    const before = await rowCount()
    t.start = async () => {
      throw new Error('Temporal is not reachable')
    }
    try {
      const res = await post(`/api/jobs/${source.job_id}/rerun`, { openrouter_key: OTHER_KEY })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('orchestrator_unavailable')
      expect(await rowCount()).toBe(before)
      expect(await t.db.db.selectFrom('job_secrets').select('job_id').execute()).not.toContainEqual(
        expect.objectContaining({ job_id: t.started.at(-1)!.jobId }),
      )
    } finally {
      t.start = async () => {}
      t.logged.length = 0
    }
  })

  it('answers a repeated Idempotency-Key with the first new job', async () => {
    const headers = { 'Idempotency-Key': 'rerun-once' }
    const first = await post(`/api/jobs/${source.job_id}/rerun`, { n_runs: 1 }, headers)
    expect(first.status).toBe(201)
    const before = await rowCount()
    const again = await post(`/api/jobs/${source.job_id}/rerun`, { n_runs: 1 }, headers)
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ job_id: first.body.job_id, idempotent_replay: true })
    expect(await rowCount()).toBe(before)
  })
})

describe('another token', () => {
  it("finds neither the job nor its runs: 404 on every control route and in a comparison, the owner's own get through", async () => {
    const app = await createTestApp({}, { tokens: 'database' })
    try {
      const alice = await createToken(app.db.db, 'alice', false)
      const bob = await createToken(app.db.db, 'bob', false)
      const jobId = await insertJob(app.db.db, { owner: alice.id })
      await app.db.db
        .updateTable('runs')
        .set({ status: 'completed', outcome: 'failed', reward: 0 })
        .where('job_id', '=', jobId)
        .execute()
      const as = async (token: string, path: string, body?: unknown) => {
        const res = await app.app.request(path, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
        return { status: res.status, body: (await res.json()) as any }
      }
      const routes: [string, unknown][] = [
        ['pause', undefined],
        ['resume', undefined],
        ['retry', { run_numbers: [1] }],
        ['rerun', {}],
      ]
      for (const [action, body] of routes) {
        const res = await as(bob.token, `/api/jobs/${jobId}/${action}`, body)
        expect(res, action).toMatchObject({ status: 404, body: { error: { code: 'job_not_found' } } })
      }
      expect(app.started).toEqual([])
      const bobs = await insertJob(app.db.db, { owner: bob.id })
      const compare = await app.app.request(`/api/compare?jobs=${bobs},${jobId}`, {
        headers: { Authorization: `Bearer ${bob.token}` },
      })
      expect(compare.status).toBe(404)
      expect(((await compare.json()) as any).error.code).toBe('job_not_found')
      const own = await as(alice.token, `/api/jobs/${jobId}/retry`, { run_numbers: [1] })
      expect(own.status).toBe(202)
      const rerun = await as(alice.token, `/api/jobs/${jobId}/rerun`, {})
      expect(rerun.status).toBe(201)
      const row = await app.db.db
        .selectFrom('jobs')
        .select('owner_token_id')
        .where('id', '=', rerun.body.job_id)
        .executeTakeFirstOrThrow()
      expect(row.owner_token_id).toBe(alice.id)
    } finally {
      await app.close()
    }
  })
})

describe('the keys', () => {
  it('appear in no answer', () => {
    expect(bodies.length).toBeGreaterThan(20)
    for (const body of bodies) {
      expect(body).not.toContain(KEY)
      expect(body).not.toContain(OTHER_KEY)
    }
  })
})
