/**
 * Retrying ended runs, and pausing jobs: the database side of job control. A retried run goes back
 * to `queued` with its outcome cleared; its attempts, their results and its log are kept, and its
 * next attempt carries on the numbering.
 */
import { sql } from 'kysely'
import type { Db } from './database.js'
import { appendRunLogInTransaction, notifyLogChannel } from './run-logs.js'
import type { RetriedRun } from '../shared/job-control.js'

/** The job was given a key, which went when it ended: its runs cannot run again without it. */
export class KeyRequiredError extends Error {
  override name = 'KeyRequiredError'
  constructor(readonly jobId: string) {
    super(`job ${jobId} has ended and its key was deleted then: send it again as openrouter_key to retry its runs`)
  }
}

/**
 * Reopens those of the job's runs `runNumbers` that have ended, under `requestId`, and moves an ended
 * job back to `running`. Idempotent: asked again with the same request id (a retried activity), it
 * answers with the runs that request reopened that have not started again yet, and reopens no other. A job given a key that it no longer
 * has refuses: KeyRequiredError.
 */
export async function reopenRuns(
  db: Db,
  jobId: string,
  runNumbers: readonly number[],
  requestId: string,
): Promise<RetriedRun[]> {
  if (runNumbers.length === 0) return []
  return db.transaction().execute(async (trx) => {
    // Under the job's row lock: finishJob, which purges the key, cannot pass in between.
    const job = await trx.selectFrom('jobs').select('with_key').where('id', '=', jobId).forUpdate().executeTakeFirst()
    if (!job) return []
    if (job.with_key) {
      const secret = await trx.selectFrom('job_secrets').select('job_id').where('job_id', '=', jobId).executeTakeFirst()
      if (!secret) throw new KeyRequiredError(jobId)
    }
    const reopened = await trx
      .updateTable('runs')
      .set({
        status: 'queued',
        phase: null,
        outcome: null,
        error_class: null,
        error_message: null,
        reward: null,
        rewards: null,
        n_input_tokens: null,
        n_cache_tokens: null,
        n_output_tokens: null,
        cost_usd: null,
        tests: null,
        started_at: null,
        finished_at: null,
        retries: sql`retries + 1`,
        retry_request: requestId,
        updated_at: sql`now()`,
      })
      .where('job_id', '=', jobId)
      .where('run_number', 'in', runNumbers)
      .where('status', 'in', ['completed', 'cancelled'])
      .where((eb) => eb.or([eb('retry_request', 'is', null), eb('retry_request', '!=', requestId)]))
      .returning(['id', 'attempts'])
      .execute()
    for (const run of reopened) {
      await appendRunLogInTransaction(trx, run.id, Math.max(run.attempts, 1), [
        { stream: 'status', line: `queued: retried, from attempt ${run.attempts + 1}` },
      ])
    }
    const mine = await trx
      .selectFrom('runs')
      .select(['run_number', 'retries', 'attempts'])
      .where('job_id', '=', jobId)
      .where('retry_request', '=', requestId)
      // Not yet started again: a request repeated long after (its runs long over) reopens nothing.
      .where('status', '=', 'queued')
      .orderBy('run_number')
      .execute()
    if (mine.length > 0) await reopenJob(trx, jobId)
    await notifyLogChannel(trx, jobId)
    return mine.map((r) => ({ runNumber: r.run_number, retry: r.retries, firstAttempt: r.attempts + 1 }))
  })
}

/** Moves an ended job back to `running`: it has runs to run again. */
export async function reopenJob(db: Db, jobId: string): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ status: 'running', finished_at: null, error: null, updated_at: sql`now()` })
    .where('id', '=', jobId)
    .where('status', 'in', ['completed', 'failed', 'cancelled'])
    .execute()
}

/** Marks the job paused (from queued or running) or resumed (back to running); other states stay. */
export async function setJobPaused(db: Db, jobId: string, paused: boolean): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ status: paused ? 'paused' : 'running', updated_at: sql`now()` })
    .where('id', '=', jobId)
    .where('status', 'in', paused ? ['queued', 'running'] : ['paused'])
    .execute()
  await notifyLogChannel(db, jobId)
}
