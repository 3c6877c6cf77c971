import type { Kysely } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // Wall-clock fence for one harness run, from the task's own timeouts × the job's multiplier plus a
  // margin; null when the task sets no agent timeout.
  await db.schema.alterTable('jobs').addColumn('run_time_limit_sec', 'integer').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('run_time_limit_sec').execute()
}
