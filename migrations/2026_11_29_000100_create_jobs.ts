import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('status', 'text', (col) =>
      col.notNull().check(sql`status in ('queued', 'running', 'completed', 'cancelled', 'failed')`),
    )
    .addColumn('task_name', 'text', (col) => col.notNull())
    .addColumn('task_format', 'text', (col) => col.notNull().check(sql`task_format in ('harbor', 'terminal-bench')`))
    .addColumn('task_sha256', 'text', (col) => col.notNull())
    .addColumn('harness', 'text', (col) => col.notNull().check(sql`harness in ('harbor', 'terminus')`))
    .addColumn('agent', 'text', (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('environment', 'text', (col) => col.notNull())
    .addColumn('n_runs', 'integer', (col) => col.notNull().check(sql`n_runs > 0`))
    .addColumn('max_parallel', 'integer', (col) => col.notNull().check(sql`max_parallel > 0`))
    .addColumn('timeout_multiplier', 'double precision', (col) => col.notNull().check(sql`timeout_multiplier > 0`))
    .addColumn('idempotency_key', 'text', (col) => col.unique())
    .addColumn('metrics', 'jsonb')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute()

  await db.schema.createIndex('jobs_created_at_idx').on('jobs').columns(['created_at desc', 'id desc']).execute()
  await db.schema.createIndex('jobs_status_idx').on('jobs').column('status').execute()

  // The OpenRouter key, AES-256-GCM under the service's master key; the row is deleted when the job ends.
  await db.schema
    .createTable('job_secrets')
    .addColumn('job_id', 'uuid', (col) => col.primaryKey().references('jobs.id').onDelete('cascade'))
    .addColumn('ciphertext', 'bytea', (col) => col.notNull())
    .addColumn('iv', 'bytea', (col) => col.notNull())
    .addColumn('auth_tag', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_secrets').execute()
  await db.schema.dropTable('jobs').execute()
}
