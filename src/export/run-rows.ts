/**
 * A job's runs as a table, one row per run, for the export as JSON Lines or CSV. Pure. Both are
 * written a line at a time from an iterable of runs, so a job of thousands of runs is never one
 * string: the caller streams the lines as they come (and may feed the runs in batches).
 */
import { csvLine, type CsvValue } from './csv.js'
import { isoOrNull, taskIndex, type ExportJob, type ExportRun, type ExportTask } from './input.js'

export interface RunExportRow {
  job_id: string
  /** The task's name. */
  task: string
  task_index: number
  run_number: number
  attempts: number
  status: string
  outcome: string | null
  error_class: string | null
  error_message: string | null
  reward: number | null
  rewards: Record<string, number> | null
  n_input_tokens: number | null
  n_cache_tokens: number | null
  n_output_tokens: number | null
  cost_usd: number | null
  started_at: string | null
  finished_at: string | null
  /** finished_at − started_at, in seconds; null unless both are known. */
  duration_sec: number | null
  host: string | null
  agent: string
  model: string
  harness: string
}

/** The columns, in order: the CSV's header, and each JSON line's keys. */
export const RUN_EXPORT_COLUMNS = [
  'job_id',
  'task',
  'task_index',
  'run_number',
  'attempts',
  'status',
  'outcome',
  'error_class',
  'error_message',
  'reward',
  'rewards',
  'n_input_tokens',
  'n_cache_tokens',
  'n_output_tokens',
  'cost_usd',
  'started_at',
  'finished_at',
  'duration_sec',
  'host',
  'agent',
  'model',
  'harness',
] as const satisfies readonly (keyof RunExportRow)[]

/** The rows of `runs`, in their order. */
export function* runExportRows(
  job: ExportJob,
  tasks: readonly ExportTask[],
  runs: Iterable<ExportRun>,
): Generator<RunExportRow> {
  const taskOf = taskIndex(tasks)
  for (const run of runs) yield runExportRow(job, taskOf(run), run)
}

export function runExportRow(job: ExportJob, task: ExportTask, run: ExportRun): RunExportRow {
  const startedAt = isoOrNull(run.started_at)
  const finishedAt = isoOrNull(run.finished_at)
  return {
    job_id: job.id,
    task: task.name,
    task_index: task.index,
    run_number: run.run_number,
    attempts: run.attempts,
    status: run.status,
    outcome: run.outcome,
    error_class: run.error_class,
    error_message: run.error_message,
    reward: run.reward,
    rewards: run.rewards,
    n_input_tokens: run.n_input_tokens,
    n_cache_tokens: run.n_cache_tokens,
    n_output_tokens: run.n_output_tokens,
    cost_usd: run.cost_usd,
    started_at: startedAt,
    finished_at: finishedAt,
    duration_sec: startedAt && finishedAt ? (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000 : null,
    host: run.host,
    agent: job.agent,
    model: job.model,
    harness: job.harness,
  }
}

/** One JSON object per line (JSON Lines), each with its `\n`. */
export function* toJsonLines(rows: Iterable<RunExportRow>): Generator<string> {
  for (const row of rows) yield jsonLine(row)
}

export function jsonLine(row: RunExportRow): string {
  return JSON.stringify(Object.fromEntries(RUN_EXPORT_COLUMNS.map((c) => [c, row[c]]))) + '\n'
}

/** The header, then one record per row; `rewards` is written as its JSON text. */
export function* toCsv(rows: Iterable<RunExportRow>): Generator<string> {
  yield csvHeader()
  for (const row of rows) yield csvRecord(row)
}

export function csvHeader(): string {
  return csvLine(RUN_EXPORT_COLUMNS)
}

export function csvRecord(row: RunExportRow): string {
  return csvLine(RUN_EXPORT_COLUMNS.map((c): CsvValue => (c === 'rewards' ? jsonText(row.rewards) : row[c])))
}

function jsonText(value: object | null): string | null {
  return value === null ? null : JSON.stringify(value)
}
