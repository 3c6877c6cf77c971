/** The upload's max_parallel: as asked, else all of the job's runs, and never more than its runs over all its tasks. */
import { describe, expect, it } from 'vitest'
import { maxParallelOf, uploadFormParser } from '../../../src/api/upload/upload-form.js'

const parse = uploadFormParser(1000, 'docker', [])
const form = (fields: Record<string, string>) => parse({ model: 'openai/gpt-4o', agent: 'oracle', ...fields })

describe('max_parallel', () => {
  it("defaults to all of the job's runs", () => {
    expect(maxParallelOf(form({ n_runs: '4' }), 4)).toBe(4)
    expect(maxParallelOf(form({ n_runs: '4' }), 12)).toBe(12)
  })

  it("is at most the job's runs: n_runs for each task", () => {
    expect(maxParallelOf(form({ n_runs: '2', max_parallel: '5' }), 2)).toBe(2)
    expect(maxParallelOf(form({ n_runs: '1', max_parallel: '3' }), 3)).toBe(3)
    expect(maxParallelOf(form({ n_runs: '2', max_parallel: '9' }), 6)).toBe(6)
    expect(maxParallelOf(form({ n_runs: '3', max_parallel: '2' }), 9)).toBe(2)
  })
})
