import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

/**
 * A job runs one task or a whole dataset of them: its tasks move to their own table, each with the
 * stored task it runs and its own time limit, and every run names the task it is a run of. A job's
 * `task_name` stays as the job's name (the task's, or the dataset's); `n_runs` stays the number of
 * all its runs, `runs_per_task` is what the upload asked for.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('job_tasks')
    .addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('task_index', 'integer', (col) => col.notNull().check(sql`task_index >= 0`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('format', 'text', (col) => col.notNull().check(sql`format in ('harbor', 'terminal-bench')`))
    .addColumn('sha256', 'text', (col) => col.notNull())
    .addColumn('run_time_limit_sec', 'integer')
    .addPrimaryKeyConstraint('job_tasks_pkey', ['job_id', 'task_index'])
    .addUniqueConstraint('job_tasks_job_id_name_key', ['job_id', 'name'])
    .execute()
  await db.schema.createIndex('job_tasks_sha256_idx').on('job_tasks').column('sha256').execute()
  await sql`
    insert into job_tasks (job_id, task_index, name, format, sha256, run_time_limit_sec)
    select id, 0, task_name, task_format, task_sha256, run_time_limit_sec from jobs
  `.execute(db)

  await db.schema
    .alterTable('runs')
    .addColumn('task_index', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
  await sql`
    alter table runs add constraint runs_job_task_fkey
      foreign key (job_id, task_index) references job_tasks (job_id, task_index) on delete cascade
  `.execute(db)
  await db.schema.createIndex('runs_job_id_task_index_idx').on('runs').columns(['job_id', 'task_index']).execute()

  await db.schema
    .alterTable('jobs')
    .addColumn('n_tasks', 'integer', (col) =>
      col
        .notNull()
        .defaultTo(1)
        .check(sql`n_tasks > 0`),
    )
    .addColumn('runs_per_task', 'integer')
    .execute()
  await sql`update jobs set runs_per_task = n_runs`.execute(db)
  await sql`alter table jobs alter column runs_per_task set not null, add constraint jobs_runs_per_task_check check (runs_per_task > 0)`.execute(
    db,
  )
  await db.schema.dropIndex('jobs_task_sha256_idx').execute()
  await db.schema
    .alterTable('jobs')
    .dropColumn('task_format')
    .dropColumn('task_sha256')
    .dropColumn('run_time_limit_sec')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('jobs')
    .addColumn('task_format', 'text')
    .addColumn('task_sha256', 'text')
    .addColumn('run_time_limit_sec', 'integer')
    .execute()
  await sql`
    update jobs j set task_format = t.format, task_sha256 = t.sha256, run_time_limit_sec = t.run_time_limit_sec
    from job_tasks t where t.job_id = j.id and t.task_index = 0
  `.execute(db)
  await sql`alter table jobs alter column task_format set not null, alter column task_sha256 set not null`.execute(db)
  await db.schema.createIndex('jobs_task_sha256_idx').on('jobs').column('task_sha256').execute()
  await db.schema.alterTable('jobs').dropColumn('n_tasks').dropColumn('runs_per_task').execute()
  await db.schema.alterTable('runs').dropColumn('task_index').execute()
  await db.schema.dropTable('job_tasks').execute()
}
