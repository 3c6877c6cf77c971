import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

/**
 * Which harnesses there are is the harness registry's to say (src/harness/registry.ts), and the
 * upload, the only writer of jobs, checks a job's harness against it: a list here as well would
 * have to change with every harness added, and refuse a registered one until it did.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs drop constraint jobs_harness_check`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs add constraint jobs_harness_check check (harness in ('harbor', 'terminus'))`.execute(db)
}
