/** What the load's runs left in the database and in Temporal, read once they ended. */
import type { Config } from '../../src/config.js'
import type { Db } from '../../src/db/database.js'
import { runWorkflowId } from '../../src/shared/ids.js'
import { connectTemporalClient } from '../../src/temporal/client.js'
import { logRows } from './sampler.js'

/** Each run's marks: when it was created, its workflow started, its slot taken, its status changes. */
export type RunMarks = Map<string, Record<string, number>>

export interface LoadResults {
  outcomes: { outcome: string | null; n: string }[]
  totalRows: number
  byRun: RunMarks
  /** Attempts beyond the first. */
  retried: number
  retryCauses: { error_class: string | null; message: string; n: string }[]
  perHost: { host: string | null; n: string }[]
}

export async function readResults(
  db: Db,
  config: Config,
  temporalAddress: string,
  jobIds: string[],
): Promise<LoadResults> {
  const outcomes = await db
    .selectFrom('runs')
    .select(['outcome', (eb) => eb.fn.countAll<string>().as('n')])
    .where('job_id', 'in', jobIds)
    .groupBy('outcome')
    .execute()
  const totalRows = await logRows(db, jobIds)
  const byRun = await runMarks(db, config, temporalAddress, jobIds)
  const retried = Number(
    (
      await db
        .selectFrom('runs')
        .select((eb) => eb.fn.sum<string>(eb('attempts', '-', 1)).as('n'))
        .where('job_id', 'in', jobIds)
        .where('attempts', '>', 1)
        .executeTakeFirstOrThrow()
    ).n ?? 0,
  )
  const retryCauses = await retryCausesOf(db, jobIds)
  const perHost = await db
    .selectFrom('runs')
    .select(['host', (eb) => eb.fn.countAll<string>().as('n')])
    .where('job_id', 'in', jobIds)
    .groupBy('host')
    .orderBy('host')
    .execute()
  return { outcomes, totalRows, byRun, retried, retryCauses, perHost }
}

/** Where each run's time outside the harness went: between its status changes and the harness's span. */
async function runMarks(db: Db, config: Config, temporalAddress: string, jobIds: string[]): Promise<RunMarks> {
  const marks = await db
    .selectFrom('run_log_lines as l')
    .innerJoin('runs as r', 'r.id', 'l.run_id')
    .innerJoin('run_attempts as a', (j) => j.onRef('a.run_id', '=', 'r.id').on('a.attempt', '=', 1))
    .select([
      'r.id',
      'r.job_id',
      'r.run_number',
      'r.created_at',
      'l.line',
      'l.created_at as at',
      'a.started_at as slot_taken',
      'a.harness_started_at',
      'a.harness_finished_at',
    ])
    .where('r.job_id', 'in', jobIds)
    .where('l.stream', '=', 'status')
    .execute()
  const workflowStarted = await runWorkflowStarts(config, temporalAddress)
  const byRun: RunMarks = new Map()
  for (const m of marks) {
    const r = byRun.get(m.id) ?? {
      created: m.created_at.getTime(),
      workflow: workflowStarted.get(runWorkflowId(m.job_id, m.run_number)) ?? NaN,
      slot: m.slot_taken?.getTime() ?? NaN,
      harness_start: m.harness_started_at?.getTime() ?? NaN,
      harness_end: m.harness_finished_at?.getTime() ?? NaN,
    }
    r[m.line.split(':')[0]!] = m.at.getTime()
    byRun.set(m.id, r)
  }
  return byRun
}

/** When Temporal started each run's workflow (the job workflow starts them as children). */
async function runWorkflowStarts(config: Config, temporalAddress: string): Promise<Map<string, number>> {
  const workflowStarted = new Map<string, number>()
  const temporal = await connectTemporalClient(config, temporalAddress)
  try {
    for await (const wf of temporal.client.workflow.list({ query: `WorkflowType = 'runWorkflow'` }))
      workflowStarted.set(wf.workflowId, wf.startTime.getTime())
  } finally {
    await temporal.close()
  }
  return workflowStarted
}

/** Why attempts were retried: their error class and message, most common first. */
function retryCausesOf(db: Db, jobIds: string[]) {
  return db
    .selectFrom('run_attempts as a')
    .innerJoin('runs as r', 'r.id', 'a.run_id')
    .select([
      'a.error_class',
      (eb) => eb.fn<string>('left', ['a.error_message', eb.val(160)]).as('message'),
      (eb) => eb.fn.countAll<string>().as('n'),
    ])
    .where('r.job_id', 'in', jobIds)
    .where('a.error_class', 'is not', null)
    .where((eb) => eb('a.attempt', '<', eb.ref('r.attempts')))
    .groupBy(['a.error_class', 'message'])
    .orderBy('n', 'desc')
    .execute()
}
