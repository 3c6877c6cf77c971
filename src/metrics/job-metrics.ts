/**
 * Job metrics, computed in one place from the job's runs (docs/product.md, "Job metrics"). Pure.
 *
 * - Valid runs are the ones the verifier judged: `passed` + `failed`. Errors say nothing about the
 *   agent's ability and are left out of pass@k and the mean reward, never counted as failures.
 * - pass@k uses the unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al., 2021) over valid runs.
 * - Unknown cost stays unknown: `cost_usd` is null unless every valid or errored run reported a cost.
 */
import { ERROR_CLASSES, type ErrorClass, type RunOutcome, type RunStatus } from '../shared/status.js'

export interface RunForMetrics {
  status: RunStatus
  outcome: RunOutcome | null
  error_class: ErrorClass | null
  reward: number | null
  n_input_tokens: number | null
  n_cache_tokens: number | null
  n_output_tokens: number | null
  cost_usd: number | null
}

export interface JobMetrics {
  n_runs: number
  counts: { passed: number; failed: number; error: number; cancelled: number; unfinished: number }
  errors_by_class: Record<ErrorClass, number>
  /** passed + failed */
  valid_n: number
  /** k (as a string, JSON-style) → pass@k, for k in 1, 2, 4, 5, 8, 10, … up to valid_n. */
  pass_at_k: Record<string, number>
  mean_reward: number | null
  /** 95% confidence interval of the mean reward (Student's t), null below two valid runs. */
  mean_reward_ci95: [number, number] | null
  tokens: { input: number | null; cache: number | null; output: number | null }
  cost_usd: number | null
  /** Sum of the costs that are known, and how many finished runs did not report one. */
  cost_usd_known: number | null
  n_runs_cost_unknown: number
}

export function computeJobMetrics(runs: readonly RunForMetrics[]): JobMetrics {
  const counts = { passed: 0, failed: 0, error: 0, cancelled: 0, unfinished: 0 }
  const errorsByClass = Object.fromEntries(ERROR_CLASSES.map((c) => [c, 0])) as Record<ErrorClass, number>
  for (const run of runs) {
    if (run.status === 'cancelled') counts.cancelled++
    else if (run.status !== 'completed' || run.outcome === null) counts.unfinished++
    else {
      counts[run.outcome]++
      if (run.outcome === 'error' && run.error_class) errorsByClass[run.error_class]++
    }
  }

  const valid = runs.filter(isValidRun)
  const validN = valid.length
  const passes = valid.filter((r) => r.outcome === 'passed').length
  const passAtK: Record<string, number> = {}
  for (const k of passAtKValues(validN)) passAtK[String(k)] = passAtKEstimate(validN, passes, k)

  const rewards = validRewards(runs)
  const mean = rewards.length > 0 ? rewards.reduce((a, b) => a + b, 0) / rewards.length : null

  const finished = runs.filter((r) => r.status === 'completed' && r.outcome !== null)
  const knownCosts = finished.map((r) => r.cost_usd).filter((c): c is number => c !== null)
  const costUnknown = finished.length - knownCosts.length

  return {
    n_runs: runs.length,
    counts,
    errors_by_class: errorsByClass,
    valid_n: validN,
    pass_at_k: passAtK,
    mean_reward: mean,
    mean_reward_ci95: meanConfidenceInterval(rewards),
    tokens: {
      input: sumKnown(finished.map((r) => r.n_input_tokens)),
      cache: sumKnown(finished.map((r) => r.n_cache_tokens)),
      output: sumKnown(finished.map((r) => r.n_output_tokens)),
    },
    cost_usd: finished.length > 0 && costUnknown === 0 ? sum(knownCosts) : null,
    cost_usd_known: knownCosts.length > 0 ? sum(knownCosts) : null,
    n_runs_cost_unknown: costUnknown,
  }
}

/** A run the verifier judged: completed, `passed` or `failed`. */
export function isValidRun(run: RunForMetrics): boolean {
  return run.status === 'completed' && (run.outcome === 'passed' || run.outcome === 'failed')
}

/** The rewards of the valid runs, the ones the mean reward is taken over. */
export function validRewards(runs: readonly RunForMetrics[]): number[] {
  return runs
    .filter(isValidRun)
    .map((r) => r.reward)
    .filter((r): r is number => r !== null && Number.isFinite(r))
}

/** 1, then every power of two and every multiple of five, up to n: 1, 2, 4, 5, 8, 10, 15, 16, 20, … */
export function passAtKValues(n: number): number[] {
  const ks: number[] = []
  for (let k = 1; k <= n; k++) {
    if (k === 1 || (k & (k - 1)) === 0 || k % 5 === 0) ks.push(k)
  }
  return ks
}

/** Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k), as a stable product. */
export function passAtKEstimate(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || k > n || c < 0 || c > n) {
    throw new RangeError(`pass@k needs integers 0 <= c <= n and 1 <= k <= n (n=${n}, c=${c}, k=${k})`)
  }
  if (n - c < k) return 1
  // C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
  let ratio = 1
  for (let i = n - c + 1; i <= n; i++) ratio *= 1 - k / i
  return 1 - ratio
}

/** Two-sided 95% interval of the mean by Student's t; null for fewer than two values. */
export function meanConfidenceInterval(values: readonly number[]): [number, number] | null {
  const n = values.length
  if (n < 2) return null
  const mean = sum(values) / n
  const variance = values.reduce((acc, v) => acc + (v - mean) ** 2, 0) / (n - 1)
  const half = tQuantile975(n - 1) * Math.sqrt(variance / n)
  return [mean - half, mean + half]
}

// t(0.975, df) for df = 1..30; beyond that a Cornish-Fisher expansion around z = 1.959964 is
// accurate to better than 1e-4.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]

export function tQuantile975(df: number): number {
  const tabled = T975[df - 1]
  if (tabled !== undefined) return tabled
  const z = 1.959963985
  const g1 = (z ** 3 + z) / 4
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function sumKnown(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length > 0 ? sum(known) : null
}
