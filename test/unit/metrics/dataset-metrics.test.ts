import { describe, expect, it } from 'vitest'
import { computeDatasetMetrics, type DatasetRunForMetrics } from '../../../src/metrics/dataset-metrics.js'

function run(task: string, outcome: 'passed' | 'failed' | 'error', extra: Partial<DatasetRunForMetrics> = {}) {
  const r: DatasetRunForMetrics = {
    task,
    status: 'completed',
    outcome,
    error_class: outcome === 'error' ? 'infra' : null,
    reward: outcome === 'error' ? null : outcome === 'passed' ? 1 : 0,
    n_input_tokens: null,
    n_cache_tokens: null,
    n_output_tokens: null,
    cost_usd: null,
    ...extra,
  }
  return r
}

/*
 * Four tasks, 0/1 rewards:
 *   a: P P F F     valid 4, 2 passed, mean 0.5
 *   b: P F E       valid 2, 1 passed, mean 0.5   (the error is left out)
 *   c: P P P P     valid 4, 4 passed, mean 1
 *   d: E E         no valid run: left out of accuracy, its intervals and pass@k
 * accuracy = (0.5 + 0.5 + 1) / 3 = 2/3
 * accuracy_ci95 over the means [0.5, 0.5, 1]: deviations −1/6 −1/6 1/3, squares sum 1/6, variance
 *   1/12, se = sqrt(1/12 / 3) = 1/6, t(0.975, 2) = 4.303 → 2/3 ± 4.303/6
 * accuracy_ci95_same_tasks: Σ p(1 − p)/(n − 1) = 0.25/3 + 0.25/1 + 0 = 1/3 → 2/3 ± 1.96 · sqrt(1/3) / 3
 * pass@k for k up to the smallest valid n, 2: pass@1 = mean(0.5, 0.5, 1) = 2/3;
 *   pass@2: a 1 − C(2,2)/C(4,2) = 5/6, b (n − c = 1 < 2) 1, c 1 → (5/6 + 1 + 1) / 3 = 17/18
 * mean_reward_runs (Harbor's Mean): rewards of the 10 valid runs, 7 ones → 0.7
 */
describe('computeDatasetMetrics', () => {
  const runs = [
    run('a', 'passed', { cost_usd: 0.1, n_input_tokens: 10 }),
    run('b', 'passed', { cost_usd: 0.2, n_input_tokens: 20 }),
    run('a', 'passed'),
    run('c', 'passed'),
    run('a', 'failed'),
    run('d', 'error'),
    run('b', 'failed'),
    run('a', 'failed'),
    run('c', 'passed'),
    run('b', 'error', { error_class: 'provider' }),
    run('c', 'passed'),
    run('d', 'error'),
    run('c', 'passed'),
  ]
  const { per_task, dataset } = computeDatasetMetrics(runs)

  it('gives each task its own job metrics, in order of first appearance', () => {
    expect(per_task.map((t) => t.task)).toEqual(['a', 'b', 'c', 'd'])
    const [a, b, , d] = per_task
    expect(a!.metrics).toMatchObject({ valid_n: 4, mean_reward: 0.5, pass_at_k: { '1': 0.5 } })
    expect(a!.metrics.pass_at_k['2']).toBeCloseTo(5 / 6, 12)
    expect(a!.metrics.pass_at_k['4']).toBe(1)
    expect(b!.metrics).toMatchObject({ valid_n: 2, counts: { passed: 1, failed: 1, error: 1 }, mean_reward: 0.5 })
    expect(d!.metrics).toMatchObject({ valid_n: 0, mean_reward: null, pass_at_k: {} })
  })

  it('averages over tasks, leaving out those without a valid run', () => {
    expect(dataset.n_tasks).toBe(4)
    expect(dataset.n_tasks_no_valid_run).toBe(1)
    expect(dataset.tasks_no_valid_run).toEqual(['d'])
    expect(dataset.accuracy).toBeCloseTo(2 / 3, 12)
    expect(dataset.mean_reward_runs).toBeCloseTo(0.7, 12)
  })

  it('gives the interval over tasks and the one for the same tasks rerun', () => {
    const [lo, hi] = dataset.accuracy_ci95!
    expect(lo).toBeCloseTo(2 / 3 - 4.303 / 6, 10)
    expect(hi).toBeCloseTo(2 / 3 + 4.303 / 6, 10)
    const [sameLo, sameHi] = dataset.accuracy_ci95_same_tasks!
    const half = (1.959963985 * Math.sqrt(1 / 3)) / 3
    expect(sameLo).toBeCloseTo(2 / 3 - half, 10)
    expect(sameHi).toBeCloseTo(2 / 3 + half, 10)
  })

  it('averages pass@k over tasks for each k every task supports', () => {
    expect(Object.keys(dataset.pass_at_k)).toEqual(['1', '2'])
    expect(dataset.pass_at_k['1']).toBeCloseTo(2 / 3, 12)
    expect(dataset.pass_at_k['2']).toBeCloseTo(17 / 18, 12)
  })

  it('totals counts, tokens and cost over all runs', () => {
    expect(dataset.n_runs).toBe(13)
    expect(dataset.valid_n).toBe(10)
    expect(dataset.counts).toEqual({ passed: 7, failed: 3, error: 3, cancelled: 0, unfinished: 0 })
    expect(dataset.errors_by_class).toMatchObject({ infra: 2, provider: 1 })
    expect(dataset.tokens.input).toBe(30)
    expect(dataset.cost_usd).toBeNull()
    expect(dataset.cost_usd_known).toBeCloseTo(0.3, 12)
    expect(dataset.n_runs_cost_unknown).toBe(11)
  })

  it('weighs every task the same where the pooled mean would not', () => {
    // x: 1 valid run of 1; y: 3 valid runs of 0. Over tasks: (1 + 0) / 2; pooled: 1/4.
    const m = computeDatasetMetrics([run('x', 'passed'), run('y', 'failed'), run('y', 'failed'), run('y', 'failed')])
    expect(m.dataset.accuracy).toBe(0.5)
    expect(m.dataset.mean_reward_runs).toBe(0.25)
    expect(m.dataset.accuracy_ci95_same_tasks).toBeNull() // x has a single valid run
    expect(Object.keys(m.dataset.pass_at_k)).toEqual(['1'])
  })

  it('is empty but well-formed without runs or without a valid run', () => {
    const none = computeDatasetMetrics([])
    expect(none.per_task).toEqual([])
    expect(none.dataset).toMatchObject({
      n_tasks: 0,
      accuracy: null,
      accuracy_ci95: null,
      accuracy_ci95_same_tasks: null,
      pass_at_k: {},
    })
    const errored = computeDatasetMetrics([run('x', 'error'), run('x', 'error')])
    expect(errored.dataset).toMatchObject({ n_tasks: 1, n_tasks_no_valid_run: 1, accuracy: null, pass_at_k: {} })
    const single = computeDatasetMetrics([run('x', 'passed'), run('x', 'failed')])
    expect(single.dataset.accuracy).toBe(0.5)
    expect(single.dataset.accuracy_ci95).toBeNull() // one task: no spread between tasks to measure
  })
})
