import { describe, expect, it } from 'vitest'
import {
  computeJobMetrics,
  meanConfidenceInterval,
  passAtKEstimate,
  passAtKValues,
  tQuantile975,
  type RunForMetrics,
} from '../../../src/metrics/job-metrics.js'

function run(overrides: Partial<RunForMetrics>): RunForMetrics {
  return {
    status: 'completed',
    outcome: 'passed',
    error_class: null,
    reward: 1,
    n_input_tokens: null,
    n_cache_tokens: null,
    n_output_tokens: null,
    cost_usd: null,
    ...overrides,
  }
}

describe('pass@k', () => {
  it('uses k = 1, powers of two and multiples of five up to n', () => {
    expect(passAtKValues(0)).toEqual([])
    expect(passAtKValues(3)).toEqual([1, 2])
    expect(passAtKValues(20)).toEqual([1, 2, 4, 5, 8, 10, 15, 16, 20])
  })

  it('matches hand-worked values of 1 - C(n-c,k)/C(n,k)', () => {
    // n = 5, c = 2: pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10
    expect(passAtKEstimate(5, 2, 1)).toBeCloseTo(0.4, 12)
    expect(passAtKEstimate(5, 2, 2)).toBeCloseTo(0.7, 12)
    expect(passAtKEstimate(5, 2, 4)).toBe(1)
    // n = 10, c = 3: pass@4 = 1 - 35/210, pass@5 = 1 - 21/252
    expect(passAtKEstimate(10, 3, 1)).toBeCloseTo(0.3, 12)
    expect(passAtKEstimate(10, 3, 2)).toBeCloseTo(1 - 21 / 45, 12)
    expect(passAtKEstimate(10, 3, 4)).toBeCloseTo(1 - 35 / 210, 12)
    expect(passAtKEstimate(10, 3, 5)).toBeCloseTo(1 - 21 / 252, 12)
    expect(passAtKEstimate(10, 3, 8)).toBe(1)
    expect(passAtKEstimate(10, 0, 10)).toBe(0)
    expect(passAtKEstimate(3, 3, 1)).toBe(1)
  })

  it('rejects impossible arguments', () => {
    expect(() => passAtKEstimate(3, 4, 1)).toThrow(RangeError)
    expect(() => passAtKEstimate(3, 1, 4)).toThrow(RangeError)
    expect(() => passAtKEstimate(3, 1, 0)).toThrow(RangeError)
  })
})

describe('mean reward interval', () => {
  it('uses Student t: [1, 0, 1, 1] has mean 0.75, s.e. 0.25, t(3) = 3.182', () => {
    const [lo, hi] = meanConfidenceInterval([1, 0, 1, 1])!
    expect(lo).toBeCloseTo(0.75 - 3.182 * 0.25, 10)
    expect(hi).toBeCloseTo(0.75 + 3.182 * 0.25, 10)
  })

  it('has no interval below two values', () => {
    expect(meanConfidenceInterval([1])).toBeNull()
  })

  it('approximates t quantiles beyond the table', () => {
    expect(tQuantile975(30)).toBe(2.042)
    expect(tQuantile975(60)).toBeCloseTo(2.000298, 3)
    expect(tQuantile975(100)).toBeCloseTo(1.983972, 3)
  })
})

describe('computeJobMetrics', () => {
  it('leaves errors out of valid n, pass@k and the mean, and counts them by class', () => {
    const metrics = computeJobMetrics([
      run({ outcome: 'passed', reward: 1 }),
      run({ outcome: 'failed', reward: 0 }),
      run({ outcome: 'passed', reward: 1 }),
      run({ outcome: 'error', error_class: 'infra', reward: null }),
      run({ outcome: 'error', error_class: 'provider', reward: null }),
      run({ status: 'cancelled', outcome: null, reward: null }),
      run({ status: 'running', outcome: null, reward: null }),
    ])
    expect(metrics.n_runs).toBe(7)
    expect(metrics.counts).toEqual({ passed: 2, failed: 1, error: 2, cancelled: 1, unfinished: 1 })
    expect(metrics.errors_by_class).toEqual({ infra: 1, harness: 0, provider: 1, verifier: 0, agent: 0 })
    expect(metrics.valid_n).toBe(3)
    expect(metrics.pass_at_k).toEqual({ '1': expect.closeTo(2 / 3, 12), '2': 1 })
    expect(metrics.mean_reward).toBeCloseTo(2 / 3, 12)
  })

  it('keeps unknown cost unknown, never 0, and sums what is known', () => {
    const partial = computeJobMetrics([
      run({ cost_usd: 0.5, n_input_tokens: 100, n_output_tokens: 10 }),
      run({ cost_usd: null, n_input_tokens: 50, n_output_tokens: null }),
    ])
    expect(partial.cost_usd).toBeNull()
    expect(partial.cost_usd_known).toBe(0.5)
    expect(partial.n_runs_cost_unknown).toBe(1)
    expect(partial.tokens).toEqual({ input: 150, cache: null, output: 10 })

    const complete = computeJobMetrics([run({ cost_usd: 0.25 }), run({ cost_usd: 0.5 })])
    expect(complete.cost_usd).toBeCloseTo(0.75, 12)

    const none = computeJobMetrics([run({})])
    expect(none.cost_usd).toBeNull()
    expect(none.cost_usd_known).toBeNull()
  })

  it('is all zeros and nulls for a job with no finished run', () => {
    const metrics = computeJobMetrics([run({ status: 'queued', outcome: null, reward: null })])
    expect(metrics.valid_n).toBe(0)
    expect(metrics.pass_at_k).toEqual({})
    expect(metrics.mean_reward).toBeNull()
    expect(metrics.mean_reward_ci95).toBeNull()
  })
})
