/** Waiting on the slow task's agent (task-zips.ts `slowTask`): how far its runs' harnesses have got. */
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import type { Db } from '../../src/db/database.js'

/** Waits until `nRuns` runs of the job have logged slow step `step` of `steps`: their harnesses are mid-agent. */
export async function waitForSlowStep(
  db: Db,
  jobId: string,
  step: number,
  steps: number,
  nRuns: number,
): Promise<void> {
  const deadline = Date.now() + 90_000
  for (;;) {
    const { count } = await db
      .selectFrom('run_log_lines')
      .innerJoin('runs', 'runs.id', 'run_log_lines.run_id')
      .select(sql<number>`count(distinct run_log_lines.run_id)::int`.as('count'))
      .where('runs.job_id', '=', jobId)
      .where('run_log_lines.line', '=', `slow step ${step}/${steps}`)
      .executeTakeFirstOrThrow()
    if (count >= nRuns) return
    if (Date.now() > deadline) throw new Error(`only ${count} of ${nRuns} runs reached step ${step}`)
    await sleep(200)
  }
}
