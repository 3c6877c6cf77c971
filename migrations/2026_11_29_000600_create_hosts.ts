import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // Execution hosts as their workers announce them. A host takes runs while a worker has seen it
  // recently and found it healthy; its busy slots are its attempts that have not finished.
  await db.schema
    .createTable('hosts')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('local', 'ssh')`))
    .addColumn('address', 'text')
    .addColumn('slots', 'integer', (col) => col.notNull().check(sql`slots > 0`))
    .addColumn('healthy', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('problem', 'text')
    .addColumn('seen_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createIndex('run_attempts_busy_idx')
    .on('run_attempts')
    .column('host')
    .where(sql.ref('finished_at'), 'is', null)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('run_attempts_busy_idx').execute()
  await db.schema.dropTable('hosts').execute()
}
