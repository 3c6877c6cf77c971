import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

/**
 * Job control: a job may be `paused`; a job made by re-running another names it; a job records
 * whether it was given a key (the key itself is deleted when the job ends, so a run retried after
 * that needs it again); a run counts how many times it was retried, and keeps the id of the request
 * that retried it last (a repeated request finds the runs it already retried).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs drop constraint jobs_status_check`.execute(db)
  await sql`
    alter table jobs add constraint jobs_status_check
      check (status in ('queued', 'running', 'paused', 'completed', 'cancelled', 'failed'))
  `.execute(db)
  await db.schema
    .alterTable('jobs')
    .addColumn('source_job_id', 'uuid', (col) => col.references('jobs.id').onDelete('set null'))
    .addColumn('with_key', 'boolean', (col) => col.notNull().defaultTo(false))
    .execute()
  // Jobs that ended before this had their key deleted: any agent but the two that call no model had one.
  await sql`
    update jobs j set with_key = exists (select 1 from job_secrets s where s.job_id = j.id)
      or j.agent not in ('oracle', 'nop')
  `.execute(db)
  await db.schema
    .alterTable('runs')
    .addColumn('retries', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('retry_request', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('retries').dropColumn('retry_request').execute()
  await db.schema.alterTable('jobs').dropColumn('source_job_id').dropColumn('with_key').execute()
  await sql`update jobs set status = 'running' where status = 'paused'`.execute(db)
  await sql`alter table jobs drop constraint jobs_status_check`.execute(db)
  await sql`
    alter table jobs add constraint jobs_status_check
      check (status in ('queued', 'running', 'completed', 'cancelled', 'failed'))
  `.execute(db)
}
