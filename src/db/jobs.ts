import { sql } from 'kysely'
import type { Db } from './database.js'
import { notifyLogChannel } from './run-logs.js'
import type { JobRow, JobTaskRow, NewJob, NewJobTask } from './schema.js'
import type { JobStatus } from '../shared/status.js'
import type { JobMetrics } from '../metrics/job-metrics.js'
import type { Sealed } from '../secrets/sealed-box.js'

export interface NewJobWithRuns {
  job: Omit<NewJob, 'status' | 'metrics' | 'error' | 'n_tasks' | 'n_runs' | 'with_key'>
  /** Its tasks, in order: the first is task 0. */
  tasks: Omit<NewJobTask, 'job_id' | 'task_index'>[]
  secret: Sealed | null
}

/** A job would take its owner past one of their limits. */
export class OwnerLimitError extends Error {
  override name = 'OwnerLimitError'
  constructor(
    readonly limit: 'active_jobs' | 'active_runs',
    message: string,
  ) {
    super(message)
  }
}

/**
 * Inserts the job, its tasks, its runs (all `queued`) and its sealed key in one transaction, after checking
 * (under a lock per owner, so that concurrent uploads cannot both slip under) that the owner stays
 * within `limits` of jobs and runs not yet ended. Given a transaction, it inserts them as part of it.
 */
export async function insertJobWithRuns(
  db: Db,
  input: NewJobWithRuns,
  newId: () => string,
  limits: { activeJobs: number; activeRuns: number },
): Promise<void> {
  const nTasks = input.tasks.length
  const nRuns = nTasks * input.job.runs_per_task
  await (db.isTransaction ? insertIn(db) : db.transaction().execute(insertIn))

  async function insertIn(trx: Db): Promise<void> {
    await checkOwnerLimits(trx, input.job.owner_token_id ?? null, nRuns, limits)
    await trx
      .insertInto('jobs')
      .values({
        ...input.job,
        n_tasks: nTasks,
        n_runs: nRuns,
        with_key: input.secret !== null,
        status: 'queued',
        metrics: null,
        error: null,
      })
      .execute()
    await trx
      .insertInto('job_tasks')
      .values(input.tasks.map((t, i) => ({ ...t, job_id: input.job.id, task_index: i })))
      .execute()
    // Interleaved (run r is a run of task (r - 1) mod n_tasks): the runs started first cover every
    // task, so a dataset gives an early look at all of it, and a paused or cancelled job has a
    // spread of tasks behind it.
    const runs = Array.from({ length: nRuns }, (_, i) => ({
      id: newId(),
      job_id: input.job.id,
      run_number: i + 1,
      task_index: i % nTasks,
      status: 'queued' as const,
    }))
    // Stay well under PostgreSQL's 65535 bind parameters per statement.
    for (let i = 0; i < runs.length; i += 1000) {
      await trx
        .insertInto('runs')
        .values(runs.slice(i, i + 1000))
        .execute()
    }
    if (input.secret) {
      await trx
        .insertInto('job_secrets')
        .values({ job_id: input.job.id, ...input.secret })
        .execute()
    }
  }
}

/**
 * Throws OwnerLimitError unless `owner` may have one more job of `nRuns` runs among those not yet
 * ended. Takes the owner's lock for the rest of the transaction `trx` (so that two requests cannot
 * both slip under); without a transaction the check is only as good as the moment it reads.
 */
export async function checkOwnerLimits(
  trx: Db,
  owner: string | null,
  nRuns: number,
  limits: { activeJobs: number; activeRuns: number },
): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`harbor-runner:owner:${owner ?? 'anonymous'}`}))`.execute(trx)
  const active = await trx
    .selectFrom('jobs')
    .select((eb) => [
      eb.fn.countAll<number>().as('jobs'),
      eb.fn.coalesce(eb.fn.sum<number>('n_runs'), eb.lit(0)).as('runs'),
    ])
    .where('status', 'in', ['queued', 'running', 'paused'])
    .where((eb) => (owner === null ? eb('owner_token_id', 'is', null) : eb('owner_token_id', '=', owner)))
    .executeTakeFirstOrThrow()
  if (Number(active.jobs) + 1 > limits.activeJobs) {
    throw new OwnerLimitError(
      'active_jobs',
      `at most ${limits.activeJobs} jobs may be queued, running or paused at once per token`,
    )
  }
  if (Number(active.runs) + nRuns > limits.activeRuns) {
    throw new OwnerLimitError(
      'active_runs',
      `at most ${limits.activeRuns} runs may belong to queued, running or paused jobs at once per token ` +
        `(${Number(active.runs)} now, ${nRuns} asked)`,
    )
  }
}

export async function deleteJob(db: Db, jobId: string): Promise<void> {
  await db.deleteFrom('jobs').where('id', '=', jobId).execute()
}

export async function findJob(db: Db, jobId: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst()
}

/** The job's tasks, in order. */
export async function listJobTasks(db: Db, jobId: string): Promise<JobTaskRow[]> {
  return db.selectFrom('job_tasks').selectAll().where('job_id', '=', jobId).orderBy('task_index').execute()
}

/**
 * The job, with a fingerprint of everything `GET /api/jobs/{id}` shows of it: its row, its runs'
 * rows and their attempts' rows, read in one statement (one snapshot). The fingerprint changes
 * whenever any of those rows changes, whatever the column, because it is built from each row's
 * `xmin`: PostgreSQL writes every update as a new row version stamped with its transaction's id, and
 * a committed change always comes from a transaction newer than the version it replaces. No run row
 * is sent to the caller.
 */
export async function findJobWithDetailVersion(
  db: Db,
  jobId: string,
): Promise<(JobRow & { detail_version: string }) | undefined> {
  return db
    .selectFrom('jobs as j')
    .selectAll('j')
    .select(
      sql<string>`md5(
        j.xmin::text
        || '|' || coalesce((select string_agg(r.xmin::text, ',' order by r.run_number) from runs r where r.job_id = j.id), '')
        || '|' || coalesce((
          select string_agg(a.xmin::text, ',' order by r.run_number, a.attempt)
          from run_attempts a join runs r on r.id = a.run_id where r.job_id = j.id), '')
      )`.as('detail_version'),
    )
    .where('j.id', '=', jobId)
    .executeTakeFirst()
}

/** The job `owner` (a token id, or null in open mode) created with this Idempotency-Key. */
export async function findJobByIdempotencyKey(db: Db, owner: string | null, key: string): Promise<JobRow | undefined> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('idempotency_key', '=', key)
    .where('owner_token_id', owner === null ? 'is' : '=', owner)
    .executeTakeFirst()
}

export interface ListJobsQuery {
  limit: number
  offset: number
  status?: JobStatus | undefined
  harness?: string | undefined
  model?: string | undefined
  agent?: string | undefined
  taskName?: string | undefined
  /** Only this token's jobs (`null`: jobs made without a token); all jobs when undefined. */
  owner?: string | null | undefined
}

export async function listJobs(db: Db, q: ListJobsQuery): Promise<{ jobs: JobRow[]; total: number }> {
  let query = db.selectFrom('jobs')
  if (q.status) query = query.where('status', '=', q.status)
  if (q.harness) query = query.where('harness', '=', q.harness as JobRow['harness'])
  if (q.model) query = query.where('model', '=', q.model)
  if (q.agent) query = query.where('agent', '=', q.agent)
  if (q.taskName) query = query.where('task_name', '=', q.taskName)
  if (q.owner !== undefined)
    query = q.owner === null ? query.where('owner_token_id', 'is', null) : query.where('owner_token_id', '=', q.owner)
  const [jobs, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ])
  return { jobs, total: Number(count.n) }
}

/** The models of the owner's most recent jobs (every owner's when `owner` is undefined), newest first. */
export async function recentModels(db: Db, owner: string | null | undefined, limit: number): Promise<string[]> {
  let query = db
    .selectFrom('jobs')
    .select('model')
    .select((eb) => eb.fn.max('created_at').as('last'))
  if (owner !== undefined)
    query = owner === null ? query.where('owner_token_id', 'is', null) : query.where('owner_token_id', '=', owner)
  const rows = await query.groupBy('model').orderBy('last', 'desc').limit(limit).execute()
  return rows.map((r) => r.model)
}

/** Moves a queued job to `running` (a paused one keeps its status); a no-op for a job that has begun. */
export async function markJobRunning(db: Db, jobId: string): Promise<void> {
  await db
    .updateTable('jobs')
    .set({
      // A job paused before its workflow began stays paused, but it has begun.
      status: sql`case when status = 'paused' then 'paused' else 'running' end`,
      started_at: sql`coalesce(started_at, now())`,
      updated_at: sql`now()`,
    })
    .where('id', '=', jobId)
    .where('status', 'in', ['queued', 'paused'])
    .where('started_at', 'is', null)
    .execute()
}

/**
 * Records the job's final status and metrics, and purges its secret, in one transaction; its event
 * streams hear of it at once (a notice on the log channel with the job's id).
 */
export async function finishJob(
  db: Db,
  jobId: string,
  status: Extract<JobStatus, 'completed' | 'cancelled' | 'failed'>,
  metrics: JobMetrics,
  error: string | null,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('jobs')
      .set({
        status,
        metrics: JSON.stringify(metrics),
        error,
        finished_at: sql`coalesce(finished_at, now())`,
        updated_at: sql`now()`,
      })
      .where('id', '=', jobId)
      .execute()
    await trx.deleteFrom('job_secrets').where('job_id', '=', jobId).execute()
    await notifyLogChannel(trx, jobId)
  })
}

export async function updateJobMetrics(db: Db, jobId: string, metrics: JobMetrics): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ metrics: JSON.stringify(metrics), updated_at: sql`now()` })
    .where('id', '=', jobId)
    .execute()
}

export async function findJobSecret(db: Db, jobId: string): Promise<Sealed | undefined> {
  return db
    .selectFrom('job_secrets')
    .select(['ciphertext', 'iv', 'auth_tag'])
    .where('job_id', '=', jobId)
    .executeTakeFirst()
}

/** Stores the job's sealed key, replacing one it has (a retry of an ended job brings it again). */
export async function storeJobSecret(db: Db, jobId: string, secret: Sealed): Promise<void> {
  await db
    .insertInto('job_secrets')
    .values({ job_id: jobId, ...secret })
    .onConflict((oc) => oc.column('job_id').doUpdateSet({ ...secret, created_at: sql`now()` }))
    .execute()
}

/**
 * Deletes the job's key if nothing needs it: the job has ended and none of its runs is open (a
 * retry stored it, then did not happen; another retry's runs may have been reopened meanwhile).
 */
export async function deleteJobSecretIfIdle(db: Db, jobId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const job = await trx.selectFrom('jobs').select('status').where('id', '=', jobId).forUpdate().executeTakeFirst()
    if (!job || !['completed', 'cancelled', 'failed'].includes(job.status)) return
    const open = await trx
      .selectFrom('runs')
      .select('id')
      .where('job_id', '=', jobId)
      .where('status', 'not in', ['completed', 'cancelled'])
      .executeTakeFirst()
    if (!open) await trx.deleteFrom('job_secrets').where('job_id', '=', jobId).execute()
  })
}

/** The job has a key from now on (a retry brought one): once it has ended, a retry asks for it again. */
export async function markJobWithKey(db: Db, jobId: string): Promise<void> {
  await db.updateTable('jobs').set({ with_key: true }).where('id', '=', jobId).execute()
}
