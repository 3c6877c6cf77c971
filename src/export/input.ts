/**
 * What an export is made from: a job, its tasks, its runs and their attempts, as plain values. The
 * exports know nothing of the database: the caller reads the rows and hands them over (a `jobs`,
 * `runs` or `run_attempts` row is one of these as it is; a `job_tasks` row with its `task_index`
 * as `index`), so the exports can be built and tested from anything shaped the same.
 */
import type { RunAttemptRow, RunRow, TaskFormat } from '../db/schema.js'
import type { JobStatus } from '../shared/status.js'

/** A timestamp as the database hands it over, or as an ISO string. */
export type Instant = Date | string

/** The job's settings (a `jobs` row). */
export interface ExportJob {
  id: string
  status: JobStatus
  /** The job's name: its task's, or its dataset's. */
  task_name: string
  /** How many tasks it runs: more than one, it ran a dataset. */
  n_tasks: number
  /** A name of the harness registry, e.g. `harbor` or `terminus`. */
  harness: string
  /** A built-in agent's name or an import path (`module:Class`). */
  agent: string
  /** As the job was submitted, e.g. `openai/gpt-4o`. */
  model: string
  /**
   * True when the agent calls no model (its harness's `agentsWithoutModel`, e.g. `oracle`): trials
   * made up for its runs then name no model, as Harbor's own do not.
   */
  agent_without_model?: boolean
  /** An environment type (`docker`) or an import path. */
  environment: string
  /** All its runs. */
  n_runs: number
  runs_per_task: number
  max_parallel: number
  timeout_multiplier: number
  created_at: Instant
  started_at: Instant | null
  finished_at: Instant | null
}

/** One task of the job: a job has one, a dataset's job several. */
export interface ExportTask {
  /** Its place in the job, from 0; what a run's `task_index` names. */
  index: number
  name: string
  format: TaskFormat
  /** The stored task's sha256 (hex). */
  sha256: string
}

/** A row as the exports take it: its timestamps may also be ISO strings (as fixtures have them). */
type Loose<T> = { [K in keyof T]: T[K] extends Date ? Instant : T[K] extends Date | null ? Instant | null : T[K] }

/** One run (a `runs` row). */
export type ExportRun = Loose<
  Pick<
    RunRow,
    | 'id'
    | 'job_id'
    | 'task_index'
    | 'run_number'
    | 'status'
    | 'outcome'
    | 'error_class'
    | 'error_message'
    | 'reward'
    | 'rewards'
    | 'n_input_tokens'
    | 'n_cache_tokens'
    | 'n_output_tokens'
    | 'cost_usd'
    | 'tests'
    | 'attempts'
    | 'host'
    | 'phase'
    | 'created_at'
    | 'updated_at'
    | 'started_at'
    | 'finished_at'
  >
>

/**
 * One attempt of a run (a `run_attempts` row). Its `result` is what the harness left, as stored:
 * Harbor's `TrialResult` for the `harbor` harness.
 */
export type ExportAttempt = Loose<
  Pick<
    RunAttemptRow,
    | 'run_id'
    | 'attempt'
    | 'host'
    | 'outcome'
    | 'error_class'
    | 'error_message'
    | 'phases'
    | 'result'
    | 'started_at'
    | 'finished_at'
  >
>

/** `value` as an ISO 8601 string (UTC), or null. */
export function isoOrNull(value: Instant | null): string | null {
  if (value === null) return null
  return (typeof value === 'string' ? new Date(value) : value).toISOString()
}

/** The job's tasks by their index; a run naming a task the job does not have is a caller's bug. */
export function taskIndex(
  tasks: readonly ExportTask[],
): (run: Pick<ExportRun, 'task_index' | 'run_number'>) => ExportTask {
  const byIndex = new Map(tasks.map((t) => [t.index, t]))
  return (run) => {
    const task = byIndex.get(run.task_index)
    if (!task) throw new Error(`run ${run.run_number} names task ${run.task_index}, which the job does not have`)
    return task
  }
}

/** The dataset a job of several tasks ran (its name), else null. */
export function datasetOf(job: Pick<ExportJob, 'n_tasks' | 'task_name'>): string | null {
  return job.n_tasks > 1 ? job.task_name : null
}
