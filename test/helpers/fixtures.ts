/** Small builders of rows for repository tests. */
import { randomUUID } from 'node:crypto'
import type { Db } from '../../src/db/database.js'
import { insertJobWithRuns } from '../../src/db/jobs.js'
import { findRun } from '../../src/db/runs.js'

export async function insertTestJob(
  db: Db,
  nRuns = 2,
  options: { taskSha256?: string } = {},
): Promise<{ jobId: string; runIds: string[] }> {
  const jobId = randomUUID()
  await insertJobWithRuns(
    db,
    {
      job: {
        id: jobId,
        task_name: 'hello',
        harness: 'harbor',
        agent: 'oracle',
        model: 'openai/gpt-4o',
        environment: 'docker',
        runs_per_task: nRuns,
        max_parallel: nRuns,
        timeout_multiplier: 1,
        idempotency_key: null,
      },
      tasks: [
        { name: 'hello', format: 'harbor', sha256: options.taskSha256 ?? 'a'.repeat(64), run_time_limit_sec: null },
      ],
      secret: null,
    },
    randomUUID,
    { activeJobs: 1000, activeRuns: 100_000 },
  )
  const runIds: string[] = []
  for (let n = 1; n <= nRuns; n++) runIds.push((await findRun(db, jobId, n))!.id)
  return { jobId, runIds }
}
