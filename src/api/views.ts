/** The JSON shapes the API answers with (compatible with the earlier design's field names). */
import type { JobRow, JobTaskRow, RunAttemptRow, RunRow } from '../db/schema.js'
import type { PhaseTimings } from '../shared/outcome.js'
import { computeJobMetrics, type JobMetrics } from '../metrics/job-metrics.js'
import { computeDatasetMetrics, type DatasetMetrics } from '../metrics/dataset-metrics.js'
import { harnessModel, jobWorkflowId } from '../shared/ids.js'
import { isTerminalJobStatus, RUN_STATUSES, type RunStatus } from '../shared/status.js'

const iso = (d: Date | null) => (d ? d.toISOString() : null)

export function jobView(job: JobRow, temporalUiUrl: string | null, namespace: string) {
  return {
    job_id: job.id,
    status: job.status,
    task_name: job.task_name,
    n_tasks: job.n_tasks,
    harness: job.harness,
    agent: job.agent,
    model: job.model,
    harness_model: harnessModel(job.model),
    environment: job.environment,
    n_runs: job.n_runs,
    runs_per_task: job.runs_per_task,
    max_parallel: job.max_parallel,
    timeout_multiplier: job.timeout_multiplier,
    source_job_id: job.source_job_id,
    error: job.error,
    created_at: iso(job.created_at),
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    temporal_url: temporalUiUrl
      ? `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(jobWorkflowId(job.id))}`
      : null,
  }
}

/** Per task (in the tasks' order, a task without runs included) and over the dataset, keyed by task name. */
export function datasetMetrics(tasks: readonly JobTaskRow[], runs: readonly RunRow[]): DatasetMetrics {
  const names = tasks.map((t) => t.name)
  const computed = computeDatasetMetrics(runs.map((r) => ({ ...r, task: names[r.task_index] ?? String(r.task_index) })))
  const byName = new Map(computed.per_task.map((t) => [t.task, t.metrics]))
  const empty = computeJobMetrics([])
  return { ...computed, per_task: names.map((task) => ({ task, metrics: byName.get(task) ?? empty })) }
}

/** Stored metrics once the job has ended; computed from the runs while it is under way. */
export function jobMetrics(job: JobRow, runs: readonly RunRow[]): JobMetrics {
  return isTerminalJobStatus(job.status) && job.metrics ? job.metrics : computeJobMetrics(runs)
}

export function runCounts(runs: readonly Pick<RunRow, 'status'>[]): Record<RunStatus, number> {
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>
  for (const run of runs) counts[run.status]++
  return counts
}

export function taskView(task: JobTaskRow) {
  return {
    task_index: task.task_index,
    name: task.name,
    format: task.format,
    sha256: task.sha256,
    run_time_limit_sec: task.run_time_limit_sec,
  }
}

export function runView(run: RunRow) {
  return {
    run_number: run.run_number,
    task_index: run.task_index,
    status: run.status,
    phase: run.phase,
    outcome: run.outcome,
    error_class: run.error_class,
    error_message: run.error_message,
    reward: run.reward,
    rewards: run.rewards,
    tokens: { input: run.n_input_tokens, cache: run.n_cache_tokens, output: run.n_output_tokens },
    cost_usd: run.cost_usd,
    tests: run.tests,
    attempts: run.attempts,
    retries: run.retries,
    host: run.host,
    log_lines: run.log_seq,
    log_bytes: Number(run.log_bytes),
    log_cut: run.log_cut,
    created_at: iso(run.created_at),
    started_at: iso(run.started_at),
    finished_at: iso(run.finished_at),
    duration_sec:
      run.started_at && run.finished_at ? (run.finished_at.getTime() - run.started_at.getTime()) / 1000 : null,
  }
}

export function attemptView(a: RunAttemptRow) {
  return {
    attempt: a.attempt,
    host: a.host,
    outcome: a.outcome,
    error_class: a.error_class,
    error_message: a.error_message,
    tests: a.tests,
    harness_exit_code: a.harness_exit_code,
    started_at: iso(a.started_at),
    finished_at: iso(a.finished_at),
    harness_started_at: iso(a.harness_started_at),
    harness_finished_at: iso(a.harness_finished_at),
    phase_timings: phaseDurations(a.phases),
  }
}

/** Each phase's start, end and duration in seconds. */
export function phaseDurations(phases: PhaseTimings | null) {
  if (!phases) return null
  return Object.fromEntries(
    Object.entries(phases).map(([name, span]) => {
      const start = span?.started_at ? Date.parse(span.started_at) : NaN
      const end = span?.finished_at ? Date.parse(span.finished_at) : NaN
      return [
        name,
        span
          ? {
              started_at: span.started_at,
              finished_at: span.finished_at,
              duration_sec: Number.isFinite(start) && Number.isFinite(end) ? (end - start) / 1000 : null,
            }
          : null,
      ]
    }),
  )
}

/** `GET /api/jobs/{id}` and the job's event stream: the job, its tasks, its runs and its metrics. */
export function jobDetail(
  job: JobRow,
  tasks: readonly JobTaskRow[],
  runs: readonly RunRow[],
  phases: ReadonlyMap<string, PhaseTimings>,
  temporalUiUrl: string | null,
  namespace: string,
) {
  const byTask = datasetMetrics(tasks, runs)
  return {
    ...jobView(job, temporalUiUrl, namespace),
    tasks: tasks.map((t, i) => ({ ...taskView(t), metrics: byTask.per_task[i]!.metrics })),
    runs_by_status: runCounts(runs),
    metrics: jobMetrics(job, runs),
    dataset: byTask.dataset,
    runs: runs.map((run) => ({ ...runView(run), phase_durations: phaseSeconds(phases.get(run.id) ?? null) })),
  }
}

/** Seconds spent in each finished phase, for charts; null before any phase has finished. */
function phaseSeconds(phases: PhaseTimings | null): Record<string, number> | null {
  const durations = phaseDurations(phases)
  if (!durations) return null
  const out: Record<string, number> = {}
  for (const [name, span] of Object.entries(durations)) if (span?.duration_sec != null) out[name] = span.duration_sec
  return Object.keys(out).length > 0 ? out : null
}
