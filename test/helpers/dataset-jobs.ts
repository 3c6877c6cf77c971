/**
 * Dataset jobs written straight into the database, with their runs already in the states a test
 * names: for pages and routes that only read a job, without running one. No workflow stands behind
 * such a job, so nothing may act on it (pause, retry, re-run).
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from '../../src/db/database.js'
import { insertJobWithRuns } from '../../src/db/jobs.js'
import type { JobStatus } from '../../src/shared/status.js'

/**
 * A run's state: judged (`passed`, `failed`, by the pass mark's reward), an error of a class
 * (`error:infra`), `cancelled`, or not ended (`queued`, `running`).
 */
export type SeedRun =
  | 'passed'
  | 'failed'
  | `error:${'infra' | 'harness' | 'provider' | 'verifier' | 'agent'}`
  | 'cancelled'
  | 'queued'
  | 'running'

export interface SeedDatasetJob {
  /** The dataset's name (the job's task_name). */
  name: string
  /** Each task's runs in order; every task has as many. */
  tasks: { name: string; runs: SeedRun[] }[]
  status?: JobStatus
  model?: string
  agent?: string
  /** Whether it was given a key at upload (gone now unless the job still runs). */
  withKey?: boolean
}

/** Inserts the job and sets its runs; answers its id. Runs interleave as uploads make them: run r is of task (r − 1) mod n. */
export async function insertDatasetJob(db: Db, seed: SeedDatasetJob): Promise<string> {
  const jobId = randomUUID()
  const runsPerTask = seed.tasks[0]!.runs.length
  if (seed.tasks.some((t) => t.runs.length !== runsPerTask)) throw new Error('every task needs as many runs')
  await insertJobWithRuns(
    db,
    {
      job: {
        id: jobId,
        task_name: seed.name,
        harness: 'harbor',
        agent: seed.agent ?? 'oracle',
        model: seed.model ?? 'openai/gpt-4o',
        environment: 'docker',
        runs_per_task: runsPerTask,
        max_parallel: runsPerTask,
        timeout_multiplier: 1,
        idempotency_key: null,
      },
      tasks: seed.tasks.map((t, i) => ({
        name: t.name,
        format: 'harbor',
        sha256: i.toString(16).padStart(64, '0'),
        run_time_limit_sec: null,
      })),
      secret: null,
    },
    randomUUID,
    { activeJobs: 1_000_000, activeRuns: 10_000_000 },
  )
  const byState = new Map<SeedRun, number[]>()
  seed.tasks.forEach((task, t) =>
    task.runs.forEach((state, k) => {
      const runNumber = t + 1 + k * seed.tasks.length
      byState.set(state, [...(byState.get(state) ?? []), runNumber])
    }),
  )
  for (const [state, runNumbers] of byState) {
    await db
      .updateTable('runs')
      .set(runColumns(state))
      .where('job_id', '=', jobId)
      .where('run_number', 'in', runNumbers)
      .execute()
  }
  const status = seed.status ?? 'completed'
  await db
    .updateTable('jobs')
    .set({
      status,
      with_key: seed.withKey ?? false,
      started_at: sql`now() - interval '10 minutes'`,
      finished_at: ['completed', 'cancelled', 'failed'].includes(status) ? sql`now()` : null,
    })
    .where('id', '=', jobId)
    .execute()
  return jobId
}

/** The columns of a run in `state`. */
export function runColumns(state: SeedRun) {
  const ended = { started_at: sql<Date>`now() - interval '5 minutes'`, finished_at: sql<Date>`now()`, attempts: 1 }
  if (state === 'queued') return { status: 'queued' as const }
  if (state === 'running')
    return { status: 'running' as const, phase: 'agent', started_at: sql<Date>`now()`, attempts: 1 }
  if (state === 'cancelled') return { status: 'cancelled' as const, ...ended }
  if (state === 'passed' || state === 'failed') {
    return { status: 'completed' as const, outcome: state, reward: state === 'passed' ? 1 : 0, ...ended }
  }
  const errorClass = state.slice('error:'.length) as 'infra'
  return {
    status: 'completed' as const,
    outcome: 'error' as const,
    error_class: errorClass,
    error_message: `a seeded ${errorClass} error`,
    ...ended,
  }
}
