/**
 * The API's JSON, as the pages read it (the API's own types live on the server and the dashboard
 * imports nothing from there). Only the fields the pages use are named.
 */

export type JobStatus = 'queued' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed'

export interface JobView {
  job_id: string
  status: JobStatus
  task_name: string
  n_tasks: number
  harness: string
  agent: string
  model: string
  environment: string
  n_runs: number
  runs_per_task: number
  max_parallel: number
  source_job_id: string | null
  error: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  temporal_url: string | null
}

export interface JobMetrics {
  n_runs: number
  counts: { passed: number; failed: number; error: number; cancelled: number; unfinished: number }
  errors_by_class: Record<string, number>
  valid_n: number
  pass_at_k: Record<string, number>
  mean_reward: number | null
  mean_reward_ci95: [number, number] | null
  tokens: { input: number | null; cache: number | null; output: number | null }
  cost_usd: number | null
  n_runs_cost_unknown: number
}

export interface DatasetSummary {
  n_tasks: number
  n_tasks_no_valid_run: number
  tasks_no_valid_run: string[]
  accuracy: number | null
  accuracy_ci95: [number, number] | null
  accuracy_ci95_same_tasks: [number, number] | null
  pass_at_k: Record<string, number>
  mean_reward_runs: number | null
  valid_n: number
  n_runs: number
}

export interface TaskView {
  task_index: number
  name: string
  format: string
  metrics: JobMetrics
}

export interface RunView {
  run_number: number
  task_index: number
  status: string
  phase: string | null
  outcome: string | null
  error_class: string | null
  reward: number | null
  retries: number
  duration_sec: number | null
  finished_at: string | null
  phase_durations: Record<string, number> | null
}

export interface JobDetail extends JobView {
  tasks: TaskView[]
  runs_by_status: Record<string, number>
  metrics: JobMetrics
  dataset: DatasetSummary
  runs: RunView[]
}

export const ENDED_JOB: readonly JobStatus[] = ['completed', 'cancelled', 'failed']

export function isEnded(status: string): boolean {
  return (ENDED_JOB as readonly string[]).includes(status)
}
