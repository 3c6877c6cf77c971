import type { Kysely } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // The verifier's test counts ({total, passed, failed, skipped, other}) when it wrote a CTRF report.
  await db.schema.alterTable('runs').addColumn('tests', 'jsonb').execute()
  await db.schema.alterTable('run_attempts').addColumn('tests', 'jsonb').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('run_attempts').dropColumn('tests').execute()
  await db.schema.alterTable('runs').dropColumn('tests').execute()
}
