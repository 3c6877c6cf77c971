/**
 * Which stored tasks (`DATA_DIR/tasks/<sha256>/`, content-addressed, shared by every job of the same
 * bytes) jobs reference, and the lock that keeps a referenced task from being removed.
 *
 * Each task has an advisory lock. An upload holds it shared from before it stores the task until
 * the transaction that inserts its job commits; whoever removes a task holds it exclusively while it
 * checks that no job references the task and removes it. So a task is never removed between an
 * upload finding it stored and that upload's job referencing it, whatever other uploads do.
 */
import { sql } from 'kysely'
import type { Db } from './database.js'

/** The lock's key: the two-key form, apart from the service's one-key advisory locks. */
function taskLock(sha256: string) {
  return sql`hashtext('harbor-runner:stored-task'), hashtext(${sha256})`
}

/**
 * Runs `work` in a transaction that holds the tasks' locks shared: store the tasks and insert the
 * job that references them there (with `trx`), and the tasks stay until the job commits. (Taken in
 * one order, so that two uploads of overlapping datasets never wait on each other in a circle.)
 */
export async function withTaskReferences<T>(
  db: Db,
  hashes: readonly string[],
  work: (trx: Db) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    for (const sha256 of [...new Set(hashes)].sort()) {
      await sql`select pg_advisory_xact_lock_shared(${taskLock(sha256)})`.execute(trx)
    }
    return work(trx)
  })
}

/**
 * Calls `remove` with the task's lock held exclusively, if no job references the task. Returns
 * whether it did.
 */
export async function removeTaskUnlessReferenced(
  db: Db,
  sha256: string,
  remove: () => Promise<unknown>,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${taskLock(sha256)})`.execute(trx)
    if ((await referencedTasks(trx, [sha256])).size > 0) return false
    await remove()
    return true
  })
}

/** Those of `hashes` that some job references. */
export async function referencedTasks(db: Db, hashes: readonly string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set()
  const rows = await db.selectFrom('job_tasks').select('sha256').distinct().where('sha256', 'in', hashes).execute()
  return new Set(rows.map((r) => r.sha256))
}
