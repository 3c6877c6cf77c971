/** How a large job's runs are cut into groups, each with its share of max_parallel. */
import { describe, expect, it } from 'vitest'
import { planGroups, RUNS_PER_GROUP } from '../../../src/workflows/run-group.js'

describe('planGroups', () => {
  it('cuts 600 runs at once into groups of RUNS_PER_GROUP, each running all of its own', () => {
    const groups = planGroups(600, 600)
    expect(groups).toHaveLength(600 / RUNS_PER_GROUP)
    expect(groups[0]).toEqual({ first: 1, last: RUNS_PER_GROUP, maxParallel: RUNS_PER_GROUP })
    expect(groups.at(-1)).toEqual({ first: 600 - RUNS_PER_GROUP + 1, last: 600, maxParallel: RUNS_PER_GROUP })
  })

  it('shares max_parallel out, the remainder to the first groups', () => {
    expect(planGroups(110, 11)).toEqual([
      { first: 1, last: 50, maxParallel: 4 },
      { first: 51, last: 100, maxParallel: 4 },
      { first: 101, last: 110, maxParallel: 3 },
    ])
  })

  it('makes no more groups than max_parallel, so that every share is at least one', () => {
    expect(planGroups(1000, 4)).toEqual([
      { first: 1, last: 250, maxParallel: 1 },
      { first: 251, last: 500, maxParallel: 1 },
      { first: 501, last: 750, maxParallel: 1 },
      { first: 751, last: 1000, maxParallel: 1 },
    ])
  })

  it('covers every run once, in order, and shares exactly max_parallel, for any job', () => {
    for (const n of [51, 99, 100, 101, 149, 777, 1000, 5000])
      for (const p of [1, 2, 3, 7, 49, 50, 51, 333, n - 1, n, n + 5]) {
        const groups = planGroups(n, p)
        expect(groups.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i))).toEqual(
          Array.from({ length: n }, (_, i) => i + 1),
        )
        expect(groups.every((g) => g.maxParallel >= 1)).toBe(true)
        expect(groups.reduce((sum, g) => sum + g.maxParallel, 0)).toBe(p)
      }
  })
})
