import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('runs')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('job_id', 'uuid', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('run_number', 'integer', (col) => col.notNull().check(sql`run_number > 0`))
    .addColumn('status', 'text', (col) =>
      col.notNull().check(sql`status in ('queued', 'staging', 'running', 'collecting', 'completed', 'cancelled')`),
    )
    .addColumn('outcome', 'text', (col) => col.check(sql`outcome in ('passed', 'failed', 'error')`))
    .addColumn('error_class', 'text', (col) =>
      col.check(sql`error_class in ('infra', 'harness', 'provider', 'verifier', 'agent')`),
    )
    .addColumn('error_message', 'text')
    .addColumn('reward', 'double precision')
    .addColumn('rewards', 'jsonb')
    .addColumn('n_input_tokens', 'bigint')
    .addColumn('n_cache_tokens', 'bigint')
    .addColumn('n_output_tokens', 'bigint')
    .addColumn('cost_usd', 'double precision')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('host', 'text')
    .addColumn('phase', 'text')
    .addColumn('log_seq', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('runs_job_id_run_number_key', ['job_id', 'run_number'])
    .execute()

  await db.schema
    .createTable('run_attempts')
    .addColumn('run_id', 'uuid', (col) => col.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (col) => col.notNull().check(sql`attempt > 0`))
    .addColumn('host', 'text', (col) => col.notNull())
    .addColumn('outcome', 'text', (col) => col.check(sql`outcome in ('passed', 'failed', 'error')`))
    .addColumn('error_class', 'text', (col) =>
      col.check(sql`error_class in ('infra', 'harness', 'provider', 'verifier', 'agent')`),
    )
    .addColumn('error_message', 'text')
    .addColumn('harness_exit_code', 'integer')
    .addColumn('harness_started_at', 'timestamptz')
    .addColumn('harness_finished_at', 'timestamptz')
    .addColumn('phases', 'jsonb')
    .addColumn('result', 'jsonb')
    .addColumn('started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addPrimaryKeyConstraint('run_attempts_pkey', ['run_id', 'attempt'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('run_attempts').execute()
  await db.schema.dropTable('runs').execute()
}
