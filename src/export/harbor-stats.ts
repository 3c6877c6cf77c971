/**
 * A Harbor job's `stats` (`JobResult.stats`), computed from its trials as Harbor 0.26 computes them
 * at the end of `Job.run` (`harbor/job.py`, `JobStats.increment` in `harbor/models/job/result.py`,
 * `Mean` and `aggregate_reward_dicts` in `harbor/metrics/`, `harbor/utils/pass_at_k.py`), so a
 * folder we write reads as one Harbor wrote. Pure.
 *
 * - Trials are grouped by `agent__model__dataset` (`agent__dataset` without a model; the dataset
 *   is the trial's `source`, else `adhoc`).
 * - Rewards count only where `reward_valid`: the trial's `n_trials`, its `reward_stats`, the mean
 *   (one `mean` for a single reward key, else one mean per key, a missing key as 0), and pass@k
 *   (only when every valid reward is a single 0 or 1; k = 2, 4, 8, … and 5, 10, 15, … up to the
 *   fewest trials of a task).
 * - A trial with any recorded exception is errored; with a `CancelledError`, cancelled too.
 * - Tokens and cost are summed over the trials that report them, else null.
 */

export interface HarborExceptionInfo {
  exception_type: string
  policy?: { has_valid_reward?: boolean } | null
  policy_override?: { has_valid_reward?: boolean | null } | null
  [key: string]: unknown
}

interface Usage {
  n_input_tokens?: number | null
  n_cache_tokens?: number | null
  n_output_tokens?: number | null
  cost_usd?: number | null
}

/** What the stats read of a `TrialResult`. */
export interface TrialForStats {
  trial_name: string
  task_name: string
  source?: string | null
  agent_info: { name: string; model_info?: { name: string; provider?: string | null } | null }
  agent_result?: Usage | null
  verifier_result?: { rewards?: Record<string, number> | null } | null
  exception_info?: HarborExceptionInfo | null
  step_results?: { agent_result?: Usage | null; exception_info?: HarborExceptionInfo | null }[] | null
  reward_valid: boolean
}

export interface EvalStats {
  n_trials: number
  n_errors: number
  metrics: Record<string, number>[]
  pass_at_k: Record<string, number>
  reward_stats: Record<string, Record<string, string[]>>
  exception_stats: Record<string, string[]>
}

export interface JobStats {
  n_completed_trials: number
  n_errored_trials: number
  n_running_trials: number
  n_pending_trials: number
  n_cancelled_trials: number
  n_retries: number
  evals: Record<string, EvalStats>
  n_input_tokens: number | null
  n_cache_tokens: number | null
  n_output_tokens: number | null
  cost_usd: number | null
}

export interface Progress {
  n_total_trials: number
  n_running_trials: number
  n_retries: number
}

export function evalsKey(trial: TrialForStats): string {
  const model = trial.agent_info.model_info?.name
  const dataset = trial.source || 'adhoc'
  return model ? `${trial.agent_info.name}__${model}__${dataset}` : `${trial.agent_info.name}__${dataset}`
}

/** Trial first, then its steps' (`TrialResult.recorded_exceptions`). */
export function recordedExceptions(trial: TrialForStats): HarborExceptionInfo[] {
  return [trial.exception_info, ...(trial.step_results ?? []).map((s) => s.exception_info)].filter(
    (e): e is HarborExceptionInfo => Boolean(e),
  )
}

export function jobStats(trials: readonly TrialForStats[], progress: Progress): JobStats {
  const stats: JobStats = {
    n_completed_trials: 0,
    n_errored_trials: 0,
    n_running_trials: progress.n_running_trials,
    n_pending_trials: 0,
    n_cancelled_trials: 0,
    n_retries: progress.n_retries,
    evals: {},
    n_input_tokens: null,
    n_cache_tokens: null,
    n_output_tokens: null,
    cost_usd: null,
  }
  const validRewards = new Map<string, Record<string, number>[]>()
  for (const trial of trials) {
    const key = evalsKey(trial)
    const evals = (stats.evals[key] ??= emptyEval())
    stats.n_completed_trials++
    const rewards = trial.verifier_result?.rewards
    if (trial.reward_valid && rewards) {
      evals.n_trials++
      for (const [name, value] of Object.entries(rewards))
        ((evals.reward_stats[name] ??= {})[String(value)] ??= []).push(trial.trial_name)
      listIn(validRewards, key).push(rewards)
    }
    const types = [...new Set(recordedExceptions(trial).map((e) => e.exception_type))].sort()
    for (const type of types) (evals.exception_stats[type] ??= []).push(trial.trial_name)
    if (types.length > 0) {
      evals.n_errors++
      stats.n_errored_trials++
      if (types.includes('CancelledError')) stats.n_cancelled_trials++
    }
    addUsage(stats, trial)
  }
  stats.n_pending_trials = Math.max(progress.n_total_trials - stats.n_completed_trials - progress.n_running_trials, 0)
  for (const [key, rewards] of validRewards) stats.evals[key]!.metrics = [mean(rewards)]
  for (const [key, passAtK] of passAtKByEvals(trials)) stats.evals[key]!.pass_at_k = passAtK
  return stats
}

function listIn<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key)
  if (!list) map.set(key, (list = []))
  return list
}

function emptyEval(): EvalStats {
  return { n_trials: 0, n_errors: 0, metrics: [], pass_at_k: {}, reward_stats: {}, exception_stats: {} }
}

/** `compute_token_cost_totals`: the trial's agent result, else its steps'. */
function addUsage(stats: JobStats, trial: TrialForStats): void {
  const contexts = trial.agent_result
    ? [trial.agent_result]
    : (trial.step_results ?? []).flatMap((s) => (s.agent_result ? [s.agent_result] : []))
  for (const field of ['n_input_tokens', 'n_cache_tokens', 'n_output_tokens', 'cost_usd'] as const) {
    const known = contexts.map((c) => c[field]).filter((v): v is number => typeof v === 'number')
    if (known.length > 0) stats[field] = (stats[field] ?? 0) + known.reduce((a, b) => a + b, 0)
  }
}

/** Harbor's `Mean` over `aggregate_reward_dicts`. */
export function mean(rewards: readonly Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(rewards.flatMap((r) => Object.keys(r)))].sort()
  const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
  if (keys.length <= 1) return { mean: average(rewards.map((r) => Object.values(r)[0] ?? 0)) }
  return Object.fromEntries(keys.map((k) => [k, average(rewards.map((r) => r[k] ?? 0))]))
}

function passAtKByEvals(trials: readonly TrialForStats[]): Map<string, Record<string, number>> {
  const groups = new Map<string, TrialForStats[]>()
  for (const trial of trials) listIn(groups, evalsKey(trial)).push(trial)
  const out = new Map<string, Record<string, number>>()
  for (const [key, group] of groups) {
    const passAtK = passAtKOfTrials(group)
    if (Object.keys(passAtK).length > 0) out.set(key, passAtK)
  }
  return out
}

function passAtKOfTrials(trials: readonly TrialForStats[]): Record<string, number> {
  const successes = new Map<string, number[]>()
  for (const trial of trials) {
    const rewards = trial.verifier_result?.rewards
    if (!trial.reward_valid || !rewards) continue
    const values = Object.values(rewards)
    if (values.length !== 1 || (values[0] !== 0 && values[0] !== 1)) return {}
    listIn(successes, trial.task_name).push(values[0])
  }
  if (successes.size === 0) return {}
  const fewest = Math.min(...[...successes.values()].map((s) => s.length))
  const out: Record<string, number> = {}
  for (const k of eligibleK(fewest)) {
    let total = 0
    for (const s of successes.values()) total += passAtKForTask(s.length, s.filter((v) => v === 1).length, k)
    out[String(k)] = total / successes.size
  }
  return out
}

function eligibleK(max: number): number[] {
  const ks = new Set<number>()
  for (let k = 2; k <= max; k *= 2) ks.add(k)
  for (let k = 5; k <= max; k += 5) ks.add(k)
  return [...ks].sort((a, b) => a - b)
}

function passAtKForTask(n: number, c: number, k: number): number {
  if (n - c < k) return 1
  let product = 1
  for (let i = 0; i < k; i++) product *= (n - c - i) / (n - i)
  return 1 - product
}
