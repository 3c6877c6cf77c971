/**
 * Removes what runs left on a host after they ended, or after a crash kept them from cleaning up:
 * the directories of runs that are over (or that the database does not know), once no harness lives
 * in them, with the Docker Compose projects of their Harbor trials. Also frees the slots of attempts
 * whose run is over but that were never recorded as finished (a workflow that was terminated).
 */
import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { findRun } from '../db/runs.js'
import { downComposeProjects } from '../hosts/compose.js'
import type { ManagedHost } from '../hosts/execution-host.js'
import type { Logger } from '../logger.js'
import { isTerminalRunStatus } from '../shared/status.js'

export async function sweepHost(db: Db, host: ManagedHost, logger: Logger): Promise<number> {
  await releaseFinishedAttempts(db)
  let removed = 0
  for (const jobId of await host.list('runs')) {
    for (const runDir of await host.list(`runs/${jobId}`)) {
      const runNumber = Number(/^run-(\d+)$/.exec(runDir)?.[1])
      const run = Number.isInteger(runNumber) ? await findRun(db, jobId, runNumber).catch(() => undefined) : undefined
      if (run && !isTerminalRunStatus(run.status)) continue
      const dir = `runs/${jobId}/${runDir}`
      // Only the attempts the run had when read as over: a retry of it may be staging the next one.
      const attempts = (await host.list(dir)).filter((a) => !run || attemptNumber(a) <= Math.max(run.attempts, 1))
      const live = await Promise.all(
        attempts.map(async (a) => (await host.probe(`${dir}/${a}/proc`)).state === 'running'),
      )
      if (live.includes(true)) continue
      for (const attempt of attempts) {
        await downComposeProjects(host, `${dir}/${attempt}`)
        await host.remove(`${dir}/${attempt}`)
      }
      await host.removeIfEmpty(dir)
      removed++
      logger.info('swept a finished run from its host', { host: host.id, job: jobId, run: runNumber || runDir })
    }
    if ((await host.list(`runs/${jobId}`)).length === 0) await host.remove(`runs/${jobId}`)
  }
  return removed
}

/** Attempts of runs that are over hold no slot. */
async function releaseFinishedAttempts(db: Db): Promise<void> {
  await db
    .updateTable('run_attempts')
    .set({ finished_at: sql`now()` })
    .where('finished_at', 'is', null)
    .where('run_id', 'in', (eb) => eb.selectFrom('runs').select('id').where('status', 'in', ['completed', 'cancelled']))
    .execute()
}

/** The number of an attempt's directory (`attempt-<n>`); anything else counts as the first. */
function attemptNumber(dir: string): number {
  return Number(/^attempt-(\d+)$/.exec(dir)?.[1] ?? 1)
}
