import { describe, expect, it } from 'vitest'
import { jobStats, mean, type TrialForStats } from '../../../src/export/harbor-stats.js'

function trial(name: string, rewards: Record<string, number> | null, overrides: Partial<TrialForStats> = {}) {
  return {
    trial_name: name,
    task_name: name.split('__')[0]!,
    agent_info: { name: 'oracle', model_info: null },
    verifier_result: rewards ? { rewards } : null,
    reward_valid: rewards !== null,
    ...overrides,
  } satisfies TrialForStats
}

const progress = { n_total_trials: 10, n_running_trials: 0, n_retries: 0 }

describe("Harbor's job stats", () => {
  it("average a single reward key as `mean`, and several keys one by one (a missing key as 0), as Harbor's Mean does", () => {
    expect(mean([{ reward: 1 }, { reward: 0 }, { reward: 0.5 }])).toEqual({ mean: 0.5 })
    expect(mean([{ reward: 1, style: 0.5 }, { reward: 0 }])).toEqual({ reward: 0.5, style: 0.25 })
  })

  it('count pass@k per task for k = 2, 4, 8, … and 5, 10, … up to the fewest trials of a task', () => {
    const trials = Array.from({ length: 10 }, (_, i) => trial(`a__r${i}`, { reward: i < 3 ? 1 : 0 }))
    const { evals } = jobStats(trials, progress)
    // n = 10, c = 3: pass@k = 1 - C(7, k) / C(10, k).
    expect(Object.keys(evals['oracle__adhoc']!.pass_at_k)).toEqual(['2', '4', '5', '8', '10'])
    expect(evals['oracle__adhoc']!.pass_at_k['2']).toBeCloseTo(1 - 21 / 45, 12)
    expect(evals['oracle__adhoc']!.pass_at_k['10']).toBe(1)
  })

  it('give no pass@k unless every valid reward is a single 0 or 1, and leave invalid rewards out', () => {
    const halves = [trial('a__1', { reward: 0.5 }), trial('a__2', { reward: 1 })]
    expect(jobStats(halves, progress).evals['oracle__adhoc']!.pass_at_k).toEqual({})
    const invalid = [trial('a__1', { reward: 1 }), trial('a__2', { reward: 0.5 }, { reward_valid: false })]
    const { evals } = jobStats(invalid, progress)
    expect(evals['oracle__adhoc']).toMatchObject({ n_trials: 1, metrics: [{ mean: 1 }], pass_at_k: {} })
  })

  it('group by agent, model and dataset, and count errors, cancellations and usage', () => {
    const model = { name: 'terminus-2', model_info: { name: 'openai/gpt-4o', provider: 'openrouter' } }
    const cancelled = { exception_type: 'CancelledError' }
    const stats = jobStats(
      [
        trial('a__1', { reward: 1 }, { agent_result: { n_input_tokens: 10, cost_usd: null } }),
        trial('a__2', null, { agent_info: model, exception_info: cancelled, agent_result: { n_input_tokens: 5 } }),
        trial('a__3', { reward: 0 }, { source: 'bench' }),
      ],
      { n_total_trials: 5, n_running_trials: 1, n_retries: 2 },
    )
    expect(Object.keys(stats.evals).sort()).toEqual([
      'oracle__adhoc',
      'oracle__bench',
      'terminus-2__openai/gpt-4o__adhoc',
    ])
    expect(stats).toMatchObject({
      n_completed_trials: 3,
      n_errored_trials: 1,
      n_cancelled_trials: 1,
      n_running_trials: 1,
      n_pending_trials: 1,
      n_retries: 2,
      n_input_tokens: 15,
      cost_usd: null,
    })
    expect(stats.evals['terminus-2__openai/gpt-4o__adhoc']).toMatchObject({
      n_errors: 1,
      exception_stats: { CancelledError: ['a__2'] },
    })
  })
})
