/**
 * Dataset metrics: a benchmark of many tasks, each run N times (docs/product.md, "Dataset metrics").
 * Pure. Each task gets its own job metrics (job-metrics.ts: errors left out, unbiased pass@k, Student-t
 * interval); the dataset's numbers are built from the tasks' so that every task weighs the same.
 *
 * - `accuracy` is the mean over tasks of each task's mean reward over its valid runs. A task with no
 *   valid run (every run errored, was cancelled or is unfinished) is left out of accuracy, its
 *   intervals and pass@k, and counted in `n_tasks_no_valid_run`: like Harbor, whose `Mean` and pass@k
 *   only see reward-valid trials, and like the Terminal-Bench leaderboard, which averages the tasks it
 *   has trials for.
 * - `accuracy_ci95` is a Student-t interval over the per-task means (T tasks, T − 1 degrees of freedom),
 *   as "Adding Error Bars to Evals" (Miller, 2024) advises for questions sampled several times: with as
 *   many runs per task it is the standard error clustered by task, times the small-sample factor
 *   sqrt(T/(T − 1)), and t in place of z. It asks how far accuracy could move on another draw of tasks
 *   like these, and so holds both the spread between tasks and the noise of the runs.
 * - `accuracy_ci95_same_tasks` asks only how far it could move if these same tasks ran again: accuracy
 *   ± 1.96 · sqrt(Σ s²/n) / T, s² each task's sample variance over its n valid runs. For 0/1 rewards that
 *   is the Terminal-Bench leaderboard's ±, whose per-task term is p(1 − p)/(n − 1). Null unless every
 *   task counted has two valid runs.
 * - `pass_at_k` is Harbor's (harbor/utils/pass_at_k.py): the unbiased estimator per task, averaged over
 *   the tasks, for each k that every task counted supports (k up to the smallest valid n). We also give
 *   k = 1 (the task-weighted pass rate); Harbor starts at 2. Harbor reports no pass@k at all when a
 *   reward is not exactly 0 or 1 or has several keys; we count a run as passed by the pass mark
 *   (src/shared/outcome.ts) whatever its reward.
 * - `mean_reward_runs` is Harbor's `Mean` metric (its default when a dataset names none): the mean reward over all valid runs pooled, so a
 *   task weighs by its number of valid runs. It equals `accuracy` when every task has as many valid
 *   runs. Harbor averages each key of a multi-key reward apart; we use each run's pass-mark reward.
 * - Counts, errors by class, tokens and cost are totals over all runs, as job-metrics counts them.
 */
import {
  computeJobMetrics,
  meanConfidenceInterval,
  passAtKEstimate,
  passAtKValues,
  validRewards,
  type JobMetrics,
  type RunForMetrics,
} from './job-metrics.js'

export interface DatasetRunForMetrics extends RunForMetrics {
  /** Which task the run belongs to: its name or index, as the caller keys tasks. */
  task: string
}

export interface TaskMetrics {
  task: string
  metrics: JobMetrics
}

type Totals = Pick<
  JobMetrics,
  'n_runs' | 'counts' | 'errors_by_class' | 'valid_n' | 'tokens' | 'cost_usd' | 'cost_usd_known' | 'n_runs_cost_unknown'
>

export interface DatasetSummary extends Totals {
  n_tasks: number
  /** Tasks without a valid run, left out of accuracy, its intervals and pass@k (in input order). */
  n_tasks_no_valid_run: number
  tasks_no_valid_run: string[]
  /** Mean over the tasks with a valid run of each one's mean reward; null when there is none. */
  accuracy: number | null
  /** Student-t 95% interval over the per-task means; null below two tasks with a valid run. */
  accuracy_ci95: [number, number] | null
  /** 95% interval for a rerun of the same tasks (run noise only); null if a task has under two valid runs. */
  accuracy_ci95_same_tasks: [number, number] | null
  /** k (as a string) → pass@k averaged over the tasks, for k = 1, 2, 4, 5, 8, 10, … up to the smallest valid n. */
  pass_at_k: Record<string, number>
  /** Harbor's `Mean`: the mean reward over all valid runs pooled. */
  mean_reward_runs: number | null
}

export interface DatasetMetrics {
  /** One entry per task, in the order of each task's first run in the input. */
  per_task: TaskMetrics[]
  dataset: DatasetSummary
}

export function computeDatasetMetrics(runs: readonly DatasetRunForMetrics[]): DatasetMetrics {
  const tasks = [...groupByTask(runs)].map(([task, taskRuns]) => ({
    task,
    metrics: computeJobMetrics(taskRuns),
    rewards: validRewards(taskRuns),
  }))
  const scored = tasks.filter((t) => t.rewards.length > 0)
  const means = scored.map((t) => mean(t.rewards))
  const pooled = computeJobMetrics(runs)
  return {
    per_task: tasks.map(({ task, metrics }) => ({ task, metrics })),
    dataset: {
      n_tasks: tasks.length,
      n_tasks_no_valid_run: tasks.length - scored.length,
      tasks_no_valid_run: tasks.filter((t) => t.rewards.length === 0).map((t) => t.task),
      accuracy: means.length > 0 ? mean(means) : null,
      accuracy_ci95: meanConfidenceInterval(means),
      accuracy_ci95_same_tasks: sameTasksInterval(scored.map((t) => t.rewards)),
      pass_at_k: datasetPassAtK(scored.map((t) => t.metrics)),
      mean_reward_runs: pooled.mean_reward,
      n_runs: pooled.n_runs,
      counts: pooled.counts,
      errors_by_class: pooled.errors_by_class,
      valid_n: pooled.valid_n,
      tokens: pooled.tokens,
      cost_usd: pooled.cost_usd,
      cost_usd_known: pooled.cost_usd_known,
      n_runs_cost_unknown: pooled.n_runs_cost_unknown,
    },
  }
}

function groupByTask(runs: readonly DatasetRunForMetrics[]): Map<string, DatasetRunForMetrics[]> {
  const byTask = new Map<string, DatasetRunForMetrics[]>()
  for (const run of runs) {
    const list = byTask.get(run.task)
    if (list) list.push(run)
    else byTask.set(run.task, [run])
  }
  return byTask
}

/** Per-task pass@k averaged over tasks, for every k the task with the fewest valid runs supports. */
function datasetPassAtK(tasks: readonly JobMetrics[]): Record<string, number> {
  if (tasks.length === 0) return {}
  const minN = Math.min(...tasks.map((t) => t.valid_n))
  const passAtK: Record<string, number> = {}
  for (const k of passAtKValues(minN)) {
    passAtK[String(k)] = mean(tasks.map((t) => passAtKEstimate(t.valid_n, t.counts.passed, k)))
  }
  return passAtK
}

const Z975 = 1.959963985

/** accuracy ± z · sqrt(Σ s_t² / n_t) / T, from each task's valid rewards; null if one has fewer than two. */
function sameTasksInterval(rewardsByTask: readonly number[][]): [number, number] | null {
  if (rewardsByTask.length === 0 || rewardsByTask.some((r) => r.length < 2)) return null
  const accuracy = mean(rewardsByTask.map(mean))
  const sumVarianceOfMeans = rewardsByTask.reduce((acc, r) => acc + sampleVariance(r) / r.length, 0)
  const half = (Z975 * Math.sqrt(sumVarianceOfMeans)) / rewardsByTask.length
  return [accuracy - half, accuracy + half]
}

function sampleVariance(values: readonly number[]): number {
  const m = mean(values)
  return values.reduce((acc, v) => acc + (v - m) ** 2, 0) / (values.length - 1)
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}
