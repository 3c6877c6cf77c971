import { describe, expect, it } from 'vitest'
import {
  compareJobs,
  pairedTTest,
  taskResultsOf,
  type JobResults,
  type TaskResult,
} from '../../../src/metrics/compare.js'
import { computeDatasetMetrics } from '../../../src/metrics/dataset-metrics.js'
import {
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
} from '../../../src/metrics/student-t.js'

describe('Student t', () => {
  it('matches closed forms: Cauchy at df = 1, t/(2·sqrt(2 + t²)) + 1/2 at df = 2', () => {
    expect(studentTCdf(0, 7)).toBe(0.5)
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 14) // 1/2 + atan(1)/π
    expect(studentTCdf(-1, 1)).toBeCloseTo(0.25, 14)
    expect(studentTCdf(2, 2)).toBeCloseTo(0.5 + 2 / (2 * Math.sqrt(6)), 14)
    expect(studentTCdf(Infinity, 3)).toBe(1)
    expect(studentTTwoSidedP(-Infinity, 3)).toBe(0)
  })

  it('gives the printed t-table quantiles', () => {
    // two-sided 95% (p = 0.975): df 1, 2, 4, 10, 30; 99% at df 5; one-sided 95% at df 20
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 3)
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3)
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776, 3)
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228, 3)
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042, 3)
    expect(studentTQuantile(0.995, 5)).toBeCloseTo(4.032, 3)
    expect(studentTQuantile(0.95, 20)).toBeCloseTo(1.725, 3)
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.776, 3)
  })

  it('agrees with scipy.stats.t 1.18 to 1e-12', () => {
    // stats.t.ppf(0.975, 4), .ppf(0.975, 10), .cdf(-2.5, 12), .cdf(3.0, 200), 2 * .sf(sqrt(5), 4)
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764451051977934, 12)
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228138851986274, 12)
    expect(studentTCdf(-2.5, 12)).toBeCloseTo(0.01395769978566262, 12)
    expect(studentTCdf(3, 200)).toBeCloseTo(0.9984784764430471, 12)
    expect(studentTTwoSidedP(Math.sqrt(5), 4)).toBeCloseTo(0.08900934250008571, 12)
  })

  it('has the incomplete beta of I_x(1, 1) = x and I_x(a, b) = 1 - I_(1-x)(b, a)', () => {
    expect(regularizedIncompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14)
    expect(regularizedIncompleteBeta(0.2, 2.5, 4) + regularizedIncompleteBeta(0.8, 4, 2.5)).toBeCloseTo(1, 14)
    expect(() => regularizedIncompleteBeta(1.5, 1, 1)).toThrow(RangeError)
    expect(() => studentTCdf(1, 0)).toThrow(RangeError)
  })
})

/** Every number anywhere in a value (JSON would silently turn NaN and Infinity into null). */
function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value]
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(numbersIn)
  return []
}

function results(job: string, rates: Record<string, number | null>, n = 5): JobResults {
  const tasks: TaskResult[] = Object.entries(rates).map(([task, rate]) =>
    rate === null
      ? { task, valid_n: 0, passes: 0, mean_reward: null }
      : { task, valid_n: n, passes: Math.round(rate * n), mean_reward: rate },
  )
  return { job, tasks }
}

/*
 * Five tasks t1..t5, five runs each, 0/1 rewards, so a task's mean reward is its pass rate.
 *   baseline A: 0.0 0.2 0.4 0.6 0.6
 *   job B:      0.4 0.2 0.8 0.8 0.6   d = B − A = 0.4 0 0.4 0.2 0
 *     mean 1.0/5 = 0.2; deviations 0.2 −0.2 0.2 0 −0.2, squares sum 0.16; sd = sqrt(0.16/4) = 0.2
 *     se = 0.2/√5 = 0.0894427191; t = 0.2/se = √5 = 2.2360679775; df = 4
 *     p = 2·P(T4 > √5) = 0.0890093425 (scipy.stats.ttest_rel(B, A).pvalue) → within noise
 *     95% CI = 0.2 ± t(0.975, 4)·se = 0.2 ± 2.7764451052 × 0.0894427191 = [−0.0483328, 0.4483328]
 *   job C:      0.4 0.8 0.8 0.8 1.0   d = 0.4 0.6 0.4 0.2 0.4
 *     mean 2.0/5 = 0.4; deviations 0 0.2 0 −0.2 0, squares sum 0.08; sd = sqrt(0.02) = 0.1414213562
 *     se = 0.1414213562/√5 = 0.0632455532; t = 0.4/se = 2√10 = 6.3245553203; df = 4
 *     p = 0.0031982022 (scipy) → more than noise at 5%; 95% CI = [0.2244022, 0.5755978]
 * t6 is only in A (left out of all), t7 has no valid run in B (left out of all).
 */
describe('compareJobs', () => {
  const a = results('A', { t1: 0, t2: 0.2, t3: 0.4, t4: 0.6, t5: 0.6, t6: 1, t7: 0.4 })
  const b = results('B', { t1: 0.4, t2: 0.2, t3: 0.8, t4: 0.8, t5: 0.6, t7: null })
  const c = results('C', { t1: 0.4, t2: 0.8, t3: 0.8, t4: 0.8, t5: 1, t7: 0.2 })
  const comparison = compareJobs([a, b, c])

  it('pairs the tasks every job has a valid run of, and says why the others were left out', () => {
    expect(comparison.baseline).toBe('A')
    expect(comparison.jobs).toEqual(['A', 'B', 'C'])
    expect(comparison.tasks).toEqual(['t1', 't2', 't3', 't4', 't5'])
    expect(comparison.left_out).toEqual([
      {
        job: 'A',
        tasks: [
          { task: 't6', reason: 'unpaired' },
          { task: 't7', reason: 'unpaired' },
        ],
      },
      {
        job: 'B',
        tasks: [
          { task: 't6', reason: 'missing' },
          { task: 't7', reason: 'no_valid_run' },
        ],
      },
      {
        job: 'C',
        tasks: [
          { task: 't6', reason: 'missing' },
          { task: 't7', reason: 'unpaired' },
        ],
      },
    ])
  })

  it('gives each paired task its pass rate per job and its difference to the baseline', () => {
    const t3 = comparison.per_task.find((r) => r.task === 't3')!
    expect(t3.by_job.map((j) => j.pass_rate)).toEqual([0.4, 0.8, 0.8])
    expect(t3.by_job[0]!.difference).toBe(0)
    expect(t3.by_job[1]!.difference).toBeCloseTo(0.4, 12)
    expect(comparison.per_task.map((r) => r.by_job[2]!.difference)).toEqual(
      [0.4, 0.6, 0.4, 0.2, 0.4].map((d) => expect.closeTo(d, 12)),
    )
  })

  it('runs the hand-worked paired t-tests (checked against scipy.stats.ttest_rel)', () => {
    const [vsB, vsC] = comparison.vs_baseline
    expect(vsB!.job).toBe('B')
    expect(vsB!.n_tasks_paired).toBe(5)
    const testB = vsB!.test!
    expect(testB.mean_difference).toBeCloseTo(0.2, 12)
    expect(testB.sd_difference).toBeCloseTo(0.2, 12)
    expect(testB.standard_error).toBeCloseTo(0.08944271909999159, 12)
    expect(testB.t).toBeCloseTo(Math.sqrt(5), 10)
    expect(testB.df).toBe(4)
    expect(testB.p_value).toBeCloseTo(0.08900934250008571, 10)
    expect(testB.ci95[0]).toBeCloseTo(-0.04833279964075285, 10)
    expect(testB.ci95[1]).toBeCloseTo(0.4483327996407529, 10)
    expect(testB.verdict).toBe('within noise')

    const testC = vsC!.test!
    expect(testC.mean_difference).toBeCloseTo(0.4, 12)
    expect(testC.sd_difference).toBeCloseTo(0.14142135623730953, 12)
    expect(testC.t).toBeCloseTo(2 * Math.sqrt(10), 10)
    expect(testC.p_value).toBeCloseTo(0.0031982021523353065, 10)
    expect(testC.ci95[0]).toBeCloseTo(0.22440219338298342, 10)
    expect(testC.ci95[1]).toBeCloseTo(0.5755978066170166, 10)
    expect(testC.verdict).toBe('more than noise at 5%')
  })

  it('declines a test below two paired tasks, with a reason', () => {
    const few = compareJobs([results('A', { t1: 0.2, t2: 0.4 }), results('B', { t1: 0.6, t2: null })])
    expect(few.tasks).toEqual(['t1'])
    expect(few.vs_baseline[0]).toMatchObject({ job: 'B', n_tasks_paired: 1, test: null })
    expect(few.vs_baseline[0]!.reason).toMatch(/at least 2/)
  })

  it('answers without NaN when every difference is the same', () => {
    const shifted = compareJobs([
      results('A', { t1: 0.2, t2: 0.4, t3: 0 }),
      results('B', { t1: 0.4, t2: 0.6, t3: 0.2 }),
    ])
    const test = shifted.vs_baseline[0]!.test!
    expect(test).toMatchObject({
      sd_difference: 0,
      standard_error: 0,
      t: null,
      p_value: 0,
      verdict: 'more than noise at 5%',
    })
    expect(test.mean_difference).toBeCloseTo(0.2, 12)
    expect(test.note).toMatch(/same/)

    const same = pairedTTest([0, 0, 0])!
    expect(same).toMatchObject({ mean_difference: 0, ci95: [0, 0], t: null, p_value: 1, verdict: 'within noise' })
    expect(numbersIn(shifted).every(Number.isFinite)).toBe(true)
  })

  it('rejects fewer than two jobs, repeated jobs or tasks, and impossible counts', () => {
    expect(() => compareJobs([results('A', { t1: 1 })])).toThrow(RangeError)
    expect(() => compareJobs([results('A', { t1: 1 }), results('A', { t1: 1 })])).toThrow(RangeError)
    const twice: JobResults = { job: 'B', tasks: [...results('B', { t1: 1 }).tasks, ...results('B', { t1: 1 }).tasks] }
    expect(() => compareJobs([results('A', { t1: 1 }), twice])).toThrow(RangeError)
    const impossible: JobResults = { job: 'B', tasks: [{ task: 't1', valid_n: 2, passes: 3, mean_reward: 1 }] }
    expect(() => compareJobs([results('A', { t1: 1 }), impossible])).toThrow(RangeError)
  })

  it('takes dataset metrics through taskResultsOf', () => {
    const run = (task: string, outcome: 'passed' | 'failed' | 'error') => ({
      task,
      status: 'completed' as const,
      outcome,
      error_class: outcome === 'error' ? ('infra' as const) : null,
      reward: outcome === 'error' ? null : outcome === 'passed' ? 1 : 0,
      n_input_tokens: null,
      n_cache_tokens: null,
      n_output_tokens: null,
      cost_usd: null,
    })
    const dataset = computeDatasetMetrics([
      run('x', 'passed'),
      run('x', 'failed'),
      run('x', 'error'),
      run('y', 'error'),
    ])
    expect(taskResultsOf(dataset)).toEqual([
      { task: 'x', valid_n: 2, passes: 1, mean_reward: 0.5 },
      { task: 'y', valid_n: 0, passes: 0, mean_reward: null },
    ])
  })
})
