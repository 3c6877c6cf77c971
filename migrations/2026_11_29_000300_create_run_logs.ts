import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // One row per log line or status change of a run; `seq` numbers them 1, 2, 3, … per run with no gap.
  await db.schema
    .createTable('run_log_lines')
    .addColumn('run_id', 'uuid', (col) => col.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (col) => col.notNull().check(sql`seq > 0`))
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('stream', 'text', (col) => col.notNull())
    .addColumn('line', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('run_log_lines_pkey', ['run_id', 'seq'])
    .execute()

  // How far each source file of an attempt has been read into run_log_lines; updated in the same
  // transaction as the lines, so a retried reader neither repeats nor skips a line.
  await db.schema
    .createTable('run_log_cursors')
    .addColumn('run_id', 'uuid', (col) => col.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('byte_offset', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('run_log_cursors_pkey', ['run_id', 'attempt', 'source'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('run_log_cursors').execute()
  await db.schema.dropTable('run_log_lines').execute()
}
