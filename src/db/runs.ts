import { sql } from 'kysely'
import type { Db } from './database.js'
import type { JobRow, JobTaskRow, RunAttemptRow, RunRow } from './schema.js'
import { appendRunLogInTransaction } from './run-logs.js'
import type { AttemptOutcome, PhaseTimings } from '../shared/outcome.js'
import type { RunStatus } from '../shared/status.js'

export async function findRun(db: Db, jobId: string, runNumber: number): Promise<RunRow | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('run_number', '=', runNumber)
    .executeTakeFirst()
}

export async function findRunById(db: Db, runId: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst()
}

export async function listRuns(db: Db, jobId: string): Promise<RunRow[]> {
  return db.selectFrom('runs').selectAll().where('job_id', '=', jobId).orderBy('run_number').execute()
}

export async function listAttempts(db: Db, runId: string): Promise<RunAttemptRow[]> {
  return db.selectFrom('run_attempts').selectAll().where('run_id', '=', runId).orderBy('attempt').execute()
}

/** The run together with the job settings and the task an activity needs to act on it. */
export async function findRunWithJob(
  db: Db,
  jobId: string,
  runNumber: number,
): Promise<{ run: RunRow; job: JobRow; task: JobTaskRow } | undefined> {
  const [job, run] = await Promise.all([
    db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst(),
    findRun(db, jobId, runNumber),
  ])
  if (!job || !run) return undefined
  const task = await db
    .selectFrom('job_tasks')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('task_index', '=', run.task_index)
    .executeTakeFirstOrThrow()
  return { job, run, task }
}

/**
 * Moves a run to `status` and records the change in its log, once: repeating the call (a retried
 * activity) changes nothing. A terminal run never moves again. Returns whether it moved.
 */
export async function setRunStatus(
  db: Db,
  runId: string,
  status: Exclude<RunStatus, 'completed'>,
  attempt: number,
  note?: string,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('runs')
      .set({
        status,
        phase: null,
        updated_at: sql`now()`,
        started_at: status === 'queued' ? undefined : sql`coalesce(started_at, now())`,
        finished_at: status === 'cancelled' ? sql`now()` : undefined,
      })
      .where('id', '=', runId)
      .where('status', 'not in', ['completed', 'cancelled', status])
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) === 0) return false
    await appendRunLogInTransaction(trx, runId, attempt, [
      { stream: 'status', line: note ? `${status}: ${note}` : status },
    ])
    return true
  })
}

/** Opens attempt `attempt` on `host`; idempotent. */
export async function startAttempt(db: Db, runId: string, attempt: number, host: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('run_attempts')
      .values({ run_id: runId, attempt, host })
      .onConflict((oc) => oc.columns(['run_id', 'attempt']).doNothing())
      .execute()
    await trx
      .updateTable('runs')
      .set({ attempts: sql`greatest(attempts, ${attempt})`, host, updated_at: sql`now()` })
      .where('id', '=', runId)
      .execute()
  })
}

export interface HarnessTimes {
  exitCode: number | null
  startedAt: string | null
  finishedAt: string | null
}

/** Records how attempt `attempt` ended. Idempotent: the last write wins with the same values. */
export async function finishAttempt(
  db: Db,
  runId: string,
  attempt: number,
  outcome: AttemptOutcome,
  harness: HarnessTimes | null,
): Promise<void> {
  await db
    .updateTable('run_attempts')
    .set({
      outcome: outcome.outcome,
      error_class: outcome.error_class,
      error_message: outcome.error_message,
      phases: outcome.phases ? JSON.stringify(outcome.phases) : null,
      tests: outcome.tests ? JSON.stringify(outcome.tests) : null,
      harness_exit_code: harness?.exitCode ?? null,
      harness_started_at: harness?.startedAt ?? null,
      harness_finished_at: harness?.finishedAt ?? null,
      finished_at: sql`coalesce(finished_at, now())`,
    })
    .where('run_id', '=', runId)
    .where('attempt', '=', attempt)
    .execute()
}

/**
 * Ends a run as `cancelled` (logged once), and frees its slot: its unfinished attempt is closed with
 * no outcome. Idempotent; a run that already ended is left as it is.
 */
export async function cancelRun(db: Db, runId: string, attempt: number): Promise<void> {
  await setRunStatus(db, runId, 'cancelled', attempt)
  await db
    .updateTable('run_attempts')
    .set({ error_message: 'cancelled', finished_at: sql`now()` })
    .where('run_id', '=', runId)
    .where('finished_at', 'is', null)
    .execute()
}

/** Cancels every run of a job that has not ended (those that never started, when the job is cancelled). */
export async function cancelUnfinishedRuns(db: Db, jobId: string): Promise<void> {
  const open = await db
    .selectFrom('runs')
    .select(['id', 'attempts'])
    .where('job_id', '=', jobId)
    .where('status', 'not in', ['completed', 'cancelled'])
    .execute()
  for (const run of open) await cancelRun(db, run.id, Math.max(run.attempts, 1))
}

/** Keeps the harness's own result document of an attempt (Harbor's trial result.json). */
export async function storeAttemptResult(db: Db, runId: string, attempt: number, result: unknown): Promise<void> {
  await db
    .updateTable('run_attempts')
    .set({ result: JSON.stringify(result) })
    .where('run_id', '=', runId)
    .where('attempt', '=', attempt)
    .execute()
}

/** Completes the run with its last attempt's outcome and logs the change, once. */
export async function completeRun(db: Db, runId: string, attempt: number, o: AttemptOutcome): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('runs')
      .set({
        status: 'completed',
        phase: null,
        outcome: o.outcome,
        error_class: o.error_class,
        error_message: o.error_message,
        reward: o.reward,
        rewards: o.rewards ? JSON.stringify(o.rewards) : null,
        n_input_tokens: o.n_input_tokens,
        n_cache_tokens: o.n_cache_tokens,
        n_output_tokens: o.n_output_tokens,
        cost_usd: o.cost_usd,
        tests: o.tests ? JSON.stringify(o.tests) : null,
        updated_at: sql`now()`,
        finished_at: sql`now()`,
      })
      .where('id', '=', runId)
      .where('status', 'not in', ['completed', 'cancelled'])
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) === 0) return false
    const detail = o.outcome === 'error' ? `error (${o.error_class}): ${o.error_message ?? ''}` : o.outcome
    await appendRunLogInTransaction(trx, runId, attempt, [{ stream: 'status', line: `completed: ${detail}` }])
    return true
  })
}

/** Where a job's runs stand, for lists: counts by state and outcome, pass@1 over valid runs, cost. */
export interface JobProgress {
  queued: number
  /** staging, running or collecting */
  active: number
  passed: number
  failed: number
  error: number
  cancelled: number
  /** passed / (passed + failed); null before any valid run. */
  pass_at_1: number | null
  /** Summed over runs that reported one; null when none did. */
  cost_usd: number | null
}

/** Progress of each of `jobIds`, in one query. */
export async function jobProgress(db: Db, jobIds: readonly string[]): Promise<Map<string, JobProgress>> {
  const out = new Map<string, JobProgress>()
  if (jobIds.length === 0) return out
  const rows = await db
    .selectFrom('runs')
    .select((eb) => [
      'job_id',
      eb.fn.countAll<string>().filterWhere('status', '=', 'queued').as('queued'),
      eb.fn.countAll<string>().filterWhere('status', 'in', ['staging', 'running', 'collecting']).as('active'),
      eb.fn.countAll<string>().filterWhere('outcome', '=', 'passed').as('passed'),
      eb.fn.countAll<string>().filterWhere('outcome', '=', 'failed').as('failed'),
      eb.fn.countAll<string>().filterWhere('outcome', '=', 'error').as('error'),
      eb.fn.countAll<string>().filterWhere('status', '=', 'cancelled').as('cancelled'),
      eb.fn.sum<string | null>('cost_usd').as('cost'),
    ])
    .where('job_id', 'in', jobIds)
    .groupBy('job_id')
    .execute()
  for (const r of rows) {
    const [passed, failed] = [Number(r.passed), Number(r.failed)]
    out.set(r.job_id, {
      queued: Number(r.queued),
      active: Number(r.active),
      passed,
      failed,
      error: Number(r.error),
      cancelled: Number(r.cancelled),
      pass_at_1: passed + failed > 0 ? passed / (passed + failed) : null,
      cost_usd: r.cost === null ? null : Number(r.cost),
    })
  }
  return out
}

/** The phase timings of the last attempt of each of the job's runs that has one, by run id. */
export async function lastAttemptPhases(db: Db, jobId: string): Promise<Map<string, PhaseTimings>> {
  const rows = await db
    .selectFrom('run_attempts as a')
    .innerJoin('runs as r', 'r.id', 'a.run_id')
    .select(['a.run_id', 'a.phases'])
    .where('r.job_id', '=', jobId)
    .whereRef('a.attempt', '=', 'r.attempts')
    .where('a.phases', 'is not', null)
    .execute()
  return new Map(rows.map((r) => [r.run_id, r.phases!]))
}

/** Every attempt of every run of the job, in run and attempt order. */
export async function listJobAttempts(db: Db, jobId: string): Promise<RunAttemptRow[]> {
  return db
    .selectFrom('run_attempts as a')
    .innerJoin('runs as r', 'r.id', 'a.run_id')
    .selectAll('a')
    .where('r.job_id', '=', jobId)
    .orderBy('r.run_number')
    .orderBy('a.attempt')
    .execute()
}
