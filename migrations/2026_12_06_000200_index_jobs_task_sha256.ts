import type { Kysely } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

/** Whether any job references a stored task is asked on every failed upload and by the task sweep. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('jobs_task_sha256_idx').on('jobs').column('task_sha256').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('jobs_task_sha256_idx').execute()
}
