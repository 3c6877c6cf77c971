/**
 * Comparing jobs over the same tasks (docs/product.md, "Comparing jobs"). Pure.
 *
 * The first job is the baseline. A task is paired when every job has a valid run of it; each other
 * job's per-task mean rewards are then set against the baseline's, task by task, and a paired t-test
 * over the tasks says whether the mean difference is more than noise: t = mean(d) / (sd(d) / √n) with
 * n − 1 degrees of freedom, d the per-task differences. Pairing by task removes the spread between easy
 * and hard tasks, which both jobs share; the noise of the runs stays in the spread of d. Tasks are the
 * unit, as in "Adding Error Bars to Evals" (Miller, 2024), section on paired differences.
 */
import type { DatasetMetrics } from './dataset-metrics.js'
import { studentTQuantile, studentTTwoSidedP } from './student-t.js'

/** One task of one job: what the comparison needs of it. */
export interface TaskResult {
  task: string
  /** Valid runs (passed + failed). */
  valid_n: number
  /** Passed runs, 0..valid_n. */
  passes: number
  /** Mean reward over the valid runs; null when there is none. */
  mean_reward: number | null
}

export interface JobResults {
  /** The job's id or label, echoed in the output. */
  job: string
  tasks: readonly TaskResult[]
}

/**
 * Why a job's task is not among the paired ones: `missing` (another job has it, this one does not),
 * `no_valid_run` (this job has it, without a valid run), `unpaired` (this job has a valid run of it, some
 * other job has none or lacks it).
 */
export type LeftOutReason = 'missing' | 'no_valid_run' | 'unpaired'

export interface TaskRow {
  task: string
  /** One entry per job, in input order; `difference` is mean_reward − the baseline's (0 for the baseline). */
  by_job: { job: string; valid_n: number; pass_rate: number; mean_reward: number; difference: number }[]
}

export type Verdict = 'more than noise at 5%' | 'within noise'

export interface PairedTest {
  /** Mean over the paired tasks of (this job's mean reward − the baseline's). */
  mean_difference: number
  sd_difference: number
  standard_error: number
  /** Student-t 95% interval of the mean difference. */
  ci95: [number, number]
  /** null when every difference is the same (no spread to measure against). */
  t: number | null
  df: number
  p_value: number
  verdict: Verdict
  note: string | null
}

export interface VersusBaseline {
  job: string
  n_tasks_paired: number
  /** null when it cannot be tested; `reason` says why. */
  test: PairedTest | null
  reason: string | null
}

export interface JobComparison {
  baseline: string
  jobs: string[]
  /** The paired tasks, in the baseline's order. */
  tasks: string[]
  left_out: { job: string; tasks: { task: string; reason: LeftOutReason }[] }[]
  per_task: TaskRow[]
  /** One entry per job after the baseline. */
  vs_baseline: VersusBaseline[]
}

/** Compares two or more jobs; the first is the baseline. Throws a RangeError on malformed input. */
export function compareJobs(jobs: readonly JobResults[]): JobComparison {
  checkInput(jobs)
  const byJob = jobs.map((j) => new Map(j.tasks.map((t) => [t.task, t])))
  const paired = [...byJob[0]!.keys()].filter((task) => byJob.every((m) => isScored(m.get(task))))
  const pairedSet = new Set(paired)
  const allTasks = new Set(jobs.flatMap((j) => j.tasks.map((t) => t.task)))

  const perTask = paired.map((task) => {
    const base = byJob[0]!.get(task)!.mean_reward!
    return {
      task,
      by_job: jobs.map((j, i) => {
        const r = byJob[i]!.get(task)!
        const mean = r.mean_reward!
        return {
          job: j.job,
          valid_n: r.valid_n,
          pass_rate: r.passes / r.valid_n,
          mean_reward: mean,
          difference: mean - base,
        }
      }),
    }
  })

  return {
    baseline: jobs[0]!.job,
    jobs: jobs.map((j) => j.job),
    tasks: paired,
    left_out: jobs.map((j, i) => ({
      job: j.job,
      tasks: [...allTasks]
        .filter((task) => !pairedSet.has(task))
        .map((task) => ({ task, reason: leftOutReason(byJob[i]!.get(task)) })),
    })),
    per_task: perTask,
    vs_baseline: jobs.slice(1).map((j, i) =>
      versusBaseline(
        j.job,
        perTask.map((row) => row.by_job[i + 1]!.difference),
      ),
    ),
  }
}

/** A dataset's per-task results in the form compareJobs takes. */
export function taskResultsOf(metrics: DatasetMetrics): TaskResult[] {
  return metrics.per_task.map(({ task, metrics: m }) => ({
    task,
    valid_n: m.valid_n,
    passes: m.counts.passed,
    mean_reward: m.mean_reward,
  }))
}

/**
 * The paired t-test of differences d (one per task) against a mean of 0. Null below two differences.
 * When all differences are equal there is no spread: p is 0 if they differ from 0, else 1.
 */
export function pairedTTest(differences: readonly number[]): PairedTest | null {
  const n = differences.length
  if (n < 2) return null
  const mean = differences.reduce((a, b) => a + b, 0) / n
  const sd = Math.sqrt(differences.reduce((acc, d) => acc + (d - mean) ** 2, 0) / (n - 1))
  const df = n - 1
  const scale = Math.max(1, ...differences.map(Math.abs))
  if (sd <= 1e-12 * scale) {
    const p = mean === 0 ? 1 : 0
    return {
      mean_difference: mean,
      sd_difference: 0,
      standard_error: 0,
      ci95: [mean, mean],
      t: null,
      df,
      p_value: p,
      verdict: verdictOf(p),
      note: `every paired task differs by the same ${mean}: no spread to measure noise against`,
    }
  }
  const se = sd / Math.sqrt(n)
  const t = mean / se
  const half = studentTQuantile(0.975, df) * se
  const p = studentTTwoSidedP(t, df)
  return {
    mean_difference: mean,
    sd_difference: sd,
    standard_error: se,
    ci95: [mean - half, mean + half],
    t,
    df,
    p_value: p,
    verdict: verdictOf(p),
    note: null,
  }
}

function versusBaseline(job: string, differences: number[]): VersusBaseline {
  const test = pairedTTest(differences)
  return {
    job,
    n_tasks_paired: differences.length,
    test,
    reason: test ? null : `${differences.length} task(s) paired with the baseline: a test needs at least 2`,
  }
}

function verdictOf(p: number): Verdict {
  return p < 0.05 ? 'more than noise at 5%' : 'within noise'
}

function isScored(r: TaskResult | undefined): boolean {
  return r !== undefined && r.valid_n > 0 && r.mean_reward !== null
}

function leftOutReason(r: TaskResult | undefined): LeftOutReason {
  if (r === undefined) return 'missing'
  return isScored(r) ? 'unpaired' : 'no_valid_run'
}

function checkInput(jobs: readonly JobResults[]): void {
  if (jobs.length < 2) throw new RangeError(`a comparison needs at least two jobs (got ${jobs.length})`)
  if (new Set(jobs.map((j) => j.job)).size !== jobs.length) throw new RangeError('each job must appear once')
  for (const j of jobs) {
    const seen = new Set<string>()
    for (const t of j.tasks) {
      if (seen.has(t.task)) throw new RangeError(`job ${j.job} lists task ${t.task} twice`)
      seen.add(t.task)
      const counts = Number.isInteger(t.valid_n) && Number.isInteger(t.passes) && t.passes >= 0 && t.passes <= t.valid_n
      const reward = t.mean_reward === null || Number.isFinite(t.mean_reward)
      if (!counts || !reward)
        throw new RangeError(`job ${j.job}, task ${t.task}: impossible result ${JSON.stringify(t)}`)
    }
  }
}
