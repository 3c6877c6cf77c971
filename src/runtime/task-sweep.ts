/**
 * Removes from the task store (`DATA_DIR/tasks/`) what no job needs: stored tasks that no job
 * references (an API process that died between storing an upload's task and committing its job
 * leaves one) and staging directories a crash left behind. Safe beside uploads in any API process:
 * a task is removed under its lock, only while no job references it (src/db/task-refs.ts).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Db } from '../db/database.js'
import { referencedTasks, removeTaskUnlessReferenced } from '../db/task-refs.js'
import type { Logger } from '../logger.js'
import { removeStoredTask } from '../tasks/task-store.js'

const SHA256_HEX = /^[0-9a-f]{64}$/
/** A staging directory (`.tmp-*`) this old belongs to no store or removal still going on. */
const STAGING_MAX_AGE_MS = 60 * 60 * 1000
/** Hashes checked against the jobs per query. */
const BATCH = 500

/** Sweeps the store once; returns how many stored tasks it removed. */
export async function sweepStoredTasks(db: Db, storeDir: string, logger: Logger, now = Date.now()): Promise<number> {
  const entries = await fs.readdir(storeDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  const hashes = entries.filter((e) => e.isDirectory() && SHA256_HEX.test(e.name)).map((e) => e.name)
  let removed = 0
  for (let i = 0; i < hashes.length; i += BATCH) {
    const batch = hashes.slice(i, i + BATCH)
    const referenced = await referencedTasks(db, batch)
    for (const sha256 of batch.filter((h) => !referenced.has(h))) {
      if (await removeTaskUnlessReferenced(db, sha256, () => removeStoredTask(storeDir, sha256))) {
        removed++
        logger.info('removed a stored task that no job references', { task_sha256: sha256 })
      }
    }
  }
  for (const entry of entries.filter((e) => e.isDirectory() && e.name.startsWith('.tmp-'))) {
    const dir = path.join(storeDir, entry.name)
    const stat = await fs.stat(dir).catch(() => null)
    if (stat && now - stat.mtimeMs > STAGING_MAX_AGE_MS) await fs.rm(dir, { recursive: true, force: true })
  }
  return removed
}

/**
 * Sweeps at once, then every `everyMs`, until the returned function is called (it resolves once a
 * sweep under way has ended); failures are logged.
 */
export function sweepStoredTasksPeriodically(
  db: Db,
  storeDir: string,
  logger: Logger,
  everyMs: number,
): () => Promise<void> {
  let running: Promise<unknown> | null = null
  const sweep = () => {
    running ??= sweepStoredTasks(db, storeDir, logger)
      .catch((err: unknown) => logger.warn('sweeping the task store failed', { err }))
      .finally(() => (running = null))
  }
  sweep()
  const timer = setInterval(sweep, everyMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await running
  }
}
