/**
 * Runs by status, for the `runs` gauge. (Here rather than in src/db/runs.ts because only the
 * metrics read it; a repository like the others: a free function over `db`.)
 */
import type { Db } from '../db/database.js'
import type { RunCounts } from './metrics.js'

/** One grouped count over the runs table: a scan, which the metrics' cache keeps to one per few seconds. */
export async function countRunsByStatus(db: Db): Promise<RunCounts> {
  const rows = await db
    .selectFrom('runs')
    .select((eb) => ['status', eb.fn.countAll<string>().as('n')])
    .groupBy('status')
    .execute()
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
}
