/**
 * Dataset metrics against Harbor's own code: the same synthetic trials go to Harbor 0.26 (the
 * project's .venv) as TrialResults, and Harbor computes what its Job.run computes at the end of a job
 * (harbor/job.py): which trials are reward-valid, the `Mean` metric over the valid trials' rewards,
 * pass@k by harbor/utils/pass_at_k.py, and JobStats' counts and token and cost totals. Ours must agree.
 */
import path from 'node:path'
import { execa } from 'execa'
import { describe, expect, it } from 'vitest'
import { computeDatasetMetrics, type DatasetRunForMetrics } from '../../../src/metrics/dataset-metrics.js'
import { VENV_BIN } from '../../../src/paths.js'

const PYTHON = path.join(VENV_BIN, 'python')

/** A trial as the test states it: its task, its rewards (none if the verifier gave none), an exception. */
interface Trial {
  task: string
  rewards: Record<string, number> | null
  exception: string | null
  tokens?: number
  cost?: number
}

interface HarborAnswer {
  reward_valid: boolean[]
  mean: Record<string, number> | null
  pass_at_k: Record<string, number>
  n_trials: number
  n_errors: number
  n_input_tokens: number | null
  cost_usd: number | null
}

// Mirrors the end of harbor.job.Job.run for one agent/model/dataset group.
const HARBOR_SCRIPT = `
import json, sys
from datetime import datetime, UTC
from harbor.metrics.mean import Mean
from harbor.models.agent.context import AgentContext
from harbor.models.job.result import JobStats
from harbor.models.task.id import LocalTaskId
from harbor.models.trial.config import TaskConfig, TrialConfig
from harbor.models.trial.result import AgentInfo, ExceptionInfo, TrialResult
from harbor.models.verifier.result import VerifierResult
from harbor.utils.pass_at_k import compute_pass_at_k_by_evals

trials = []
for i, t in enumerate(json.load(sys.stdin)):
    trials.append(TrialResult(
        task_name=t["task"], trial_name=f"{t['task']}__{i}", trial_uri="file:///trials", task_checksum="0",
        task_id=LocalTaskId(path="/tasks/" + t["task"]), config=TrialConfig(task=TaskConfig(path="/tasks/" + t["task"])),
        agent_info=AgentInfo(name="agent", version="1"),
        agent_result=AgentContext(n_input_tokens=t.get("tokens"), cost_usd=t.get("cost")),
        verifier_result=VerifierResult(rewards=t["rewards"]) if t["rewards"] is not None else None,
        exception_info=ExceptionInfo(exception_type=t["exception"], exception_message="", exception_traceback="",
                                     occurred_at=datetime.now(UTC)) if t["exception"] else None,
    ))

rewards = [t.verifier_result.rewards for t in trials if t.reward_valid and t.verifier_result is not None]
stats = JobStats.from_trial_results(trials)
[evals] = stats.evals.values()
[pass_at_k] = list(compute_pass_at_k_by_evals(trials).values()) or [{}]
print(json.dumps({
    "reward_valid": [t.reward_valid for t in trials],
    "mean": Mean().compute(rewards) if rewards else None,
    "pass_at_k": {str(k): v for k, v in pass_at_k.items()},
    "n_trials": evals.n_trials,
    "n_errors": evals.n_errors,
    "n_input_tokens": stats.n_input_tokens,
    "cost_usd": stats.cost_usd,
}))
`

async function askHarbor(trials: readonly Trial[]): Promise<HarborAnswer> {
  const { stdout } = await execa(PYTHON, ['-c', HARBOR_SCRIPT], { input: JSON.stringify(trials) })
  return JSON.parse(stdout) as HarborAnswer
}

/** Our run for a trial, by Harbor's own verdict on its reward: valid → passed or failed, else error. */
function ourRun(trial: Trial, rewardValid: boolean): DatasetRunForMetrics {
  const reward = trial.rewards ? (trial.rewards.reward ?? Object.values(trial.rewards)[0]!) : null
  return {
    task: trial.task,
    status: 'completed',
    outcome: rewardValid ? (reward! >= 1 ? 'passed' : 'failed') : 'error',
    error_class: rewardValid ? null : 'infra',
    reward: rewardValid ? reward : null,
    n_input_tokens: trial.tokens ?? null,
    n_cache_tokens: null,
    n_output_tokens: null,
    cost_usd: trial.cost ?? null,
  }
}

const ok = (task: string, reward: number, extra: Partial<Trial> = {}): Trial => ({
  task,
  rewards: { reward },
  exception: null,
  ...extra,
})
const broken = (task: string, exception: string, rewards: Record<string, number> | null = null): Trial => ({
  task,
  rewards,
  exception,
})

describe('dataset metrics against Harbor 0.26', () => {
  it('agrees on valid runs, Mean, pass@k, counts and totals', async () => {
    const trials: Trial[] = [
      ...[1, 0, 1, 1, 0, 1].map((r) => ok('alpha', r, { tokens: 100, cost: 0.01 })),
      ...[0, 0, 0, 1].map((r) => ok('beta', r)),
      broken('beta', 'ApiRateLimitError'),
      // a rate limit makes even a reward of 1 meaningless (Harbor's policy: has_valid_reward false)
      broken('beta', 'ApiRateLimitError', { reward: 1 }),
      // an agent timeout leaves the reward valid: a failed run
      broken('gamma', 'AgentTimeoutError', { reward: 0 }),
      ...[1, 1, 1, 0].map((r) => ok('gamma', r, { tokens: 7 })),
      ...[1, 1, 1, 1, 1, 1, 1].map((r) => ok('delta', r)),
      ...[1, 2, 3].map(() => broken('epsilon', 'EnvironmentStartTimeoutError')),
      broken('zeta', 'RewardFileNotFoundError'),
      ...[0, 0, 1, 0].map((r) => ok('zeta', r)),
    ]
    const harbor = await askHarbor(trials)
    const ours = computeDatasetMetrics(trials.map((t, i) => ourRun(t, harbor.reward_valid[i]!))).dataset

    expect(harbor.reward_valid.filter((v) => !v)).toHaveLength(6)
    expect(ours.valid_n).toBe(harbor.n_trials)
    expect(ours.counts.error).toBe(6)
    expect(harbor.n_errors).toBe(7) // Harbor also counts the agent timeout, whose run is valid
    expect(ours.mean_reward_runs).toBeCloseTo(harbor.mean!.mean!, 9)
    expect(ours.tasks_no_valid_run).toEqual(['epsilon'])

    // Harbor: k = 2, 4 (up to the smallest valid n, beta's and zeta's 4); we add k = 1.
    expect(Object.keys(harbor.pass_at_k)).toEqual(['2', '4'])
    expect(Object.keys(ours.pass_at_k)).toEqual(['1', '2', '4'])
    for (const [k, value] of Object.entries(harbor.pass_at_k)) expect(ours.pass_at_k[k]).toBeCloseTo(value, 9)

    expect(ours.tokens.input).toBe(harbor.n_input_tokens)
    expect(ours.cost_usd_known).toBeCloseTo(harbor.cost_usd!, 9)
  })

  it('keeps pass@k by the pass mark where Harbor gives none for a fractional reward', async () => {
    const trials: Trial[] = [ok('a', 1), ok('a', 0.5), ok('b', 0), ok('b', 1), ok('b', 1)]
    const harbor = await askHarbor(trials)
    const ours = computeDatasetMetrics(trials.map((t, i) => ourRun(t, harbor.reward_valid[i]!))).dataset
    expect(harbor.pass_at_k).toEqual({})
    expect(ours.mean_reward_runs).toBeCloseTo(harbor.mean!.mean!, 9)
    // a: 1 of 2 reached the mark, b: 2 of 3 → pass@2 = (1 + 1) / 2
    expect(ours.pass_at_k).toEqual({ '1': expect.closeTo((1 / 2 + 2 / 3) / 2, 12), '2': 1 })
  })
})
