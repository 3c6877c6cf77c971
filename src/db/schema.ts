/**
 * Table types for Kysely. Columns the database fills are `Generated<>`; nullable columns are `T | null`.
 * Use the `Selectable`/`Insertable` aliases below as row types, never the table interfaces themselves.
 */
import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely'
import type { ErrorClass, JobStatus, RunOutcome, RunStatus } from '../shared/status.js'
import type { JobMetrics } from '../metrics/job-metrics.js'
import type { PhaseTimings, TestCounts } from '../shared/outcome.js'

/** `timestamptz`: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>
/** A `timestamptz` with a database default (`now()`). */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>
/** `bigint` columns: {@link createDb} makes node-postgres parse int8 as a number (all ours stay below 2^53). */
type BigIntColumn = number

export type TaskFormat = 'harbor' | 'terminal-bench'

export interface JobTable {
  id: string
  status: JobStatus
  /** The job's name: its task's, or its dataset's. */
  task_name: string
  /** How many tasks it runs (job_tasks), each `runs_per_task` times. */
  n_tasks: Generated<number>
  /** A name of the harness registry (src/harness/registry.ts), checked by the upload. */
  harness: string
  agent: string
  model: string
  environment: string
  /** All its runs: n_tasks × runs_per_task. */
  n_runs: number
  runs_per_task: number
  max_parallel: number
  timeout_multiplier: number
  idempotency_key: string | null
  owner_token_id: string | null
  /** The job this one re-runs, if it was made that way. */
  source_job_id: string | null
  /** Whether it was given a key (which is deleted when the job ends). */
  with_key: Generated<boolean>
  metrics: JSONColumnType<JobMetrics, string | null, string | null> | null
  error: string | null
  created_at: DefaultTimestamp
  updated_at: DefaultTimestamp
  started_at: Timestamp | null
  finished_at: Timestamp | null
}

/** One task of a job; a single-task job has one, at index 0. */
export interface JobTaskTable {
  job_id: string
  task_index: number
  name: string
  format: TaskFormat
  /** The stored task it runs: DATA_DIR/tasks/<sha256>/. */
  sha256: string
  /** The task's own limit × the job's multiplier, plus a margin, within the service's cap. */
  run_time_limit_sec: number | null
}

export interface JobSecretTable {
  job_id: string
  ciphertext: Buffer
  iv: Buffer
  auth_tag: Buffer
  created_at: DefaultTimestamp
}

export interface RunTable {
  id: string
  job_id: string
  run_number: number
  /** The job task it is a run of. */
  task_index: Generated<number>
  status: RunStatus
  outcome: RunOutcome | null
  error_class: ErrorClass | null
  error_message: string | null
  reward: number | null
  rewards: JSONColumnType<Record<string, number>, string | null, string | null> | null
  n_input_tokens: BigIntColumn | null
  n_cache_tokens: BigIntColumn | null
  n_output_tokens: BigIntColumn | null
  cost_usd: number | null
  tests: JSONColumnType<TestCounts, string | null, string | null> | null
  attempts: Generated<number>
  /** How many times it was retried after it had ended (each retry adds attempts). */
  retries: Generated<number>
  /** The request that retried it last (src/db/run-retries.ts). */
  retry_request: string | null
  host: string | null
  phase: string | null
  log_seq: Generated<number>
  log_bytes: Generated<BigIntColumn>
  log_cut: Generated<boolean>
  created_at: DefaultTimestamp
  updated_at: DefaultTimestamp
  started_at: Timestamp | null
  finished_at: Timestamp | null
}

export interface RunAttemptTable {
  run_id: string
  attempt: number
  host: string
  outcome: RunOutcome | null
  error_class: ErrorClass | null
  error_message: string | null
  harness_exit_code: number | null
  harness_started_at: Timestamp | null
  harness_finished_at: Timestamp | null
  phases: JSONColumnType<PhaseTimings, string | null, string | null> | null
  tests: JSONColumnType<TestCounts, string | null, string | null> | null
  result: JSONColumnType<object, string | null, string | null> | null
  started_at: DefaultTimestamp
  finished_at: Timestamp | null
}

export interface RunLogLineTable {
  run_id: string
  seq: number
  attempt: number
  stream: string
  line: string
  /** On a `phase` line: the harness phase it moves the run into, resolved by the driver as it was written. */
  phase: string | null
  created_at: DefaultTimestamp
}

export interface RunLogCursorTable {
  run_id: string
  attempt: number
  source: string
  byte_offset: BigIntColumn
}

export interface HostTable {
  id: string
  kind: 'local' | 'ssh'
  address: string | null
  slots: number
  healthy: Generated<boolean>
  problem: string | null
  seen_at: Timestamp | null
  created_at: DefaultTimestamp
}

export interface ApiTokenTable {
  id: string
  name: string
  token_sha256: string
  admin: Generated<boolean>
  created_at: DefaultTimestamp
  last_used_at: Timestamp | null
  revoked_at: Timestamp | null
}

export interface Database {
  jobs: JobTable
  job_tasks: JobTaskTable
  job_secrets: JobSecretTable
  runs: RunTable
  run_attempts: RunAttemptTable
  run_log_lines: RunLogLineTable
  run_log_cursors: RunLogCursorTable
  hosts: HostTable
  api_tokens: ApiTokenTable
}

export type JobRow = Selectable<JobTable>
export type NewJob = Insertable<JobTable>
export type JobTaskRow = Selectable<JobTaskTable>
export type NewJobTask = Insertable<JobTaskTable>
export type RunRow = Selectable<RunTable>
export type RunAttemptRow = Selectable<RunAttemptTable>
export type RunLogLineRow = Selectable<RunLogLineTable>
export type HostRow = Selectable<HostTable>
export type ApiTokenRow = Selectable<ApiTokenTable>
