/** The upload's fields: max_parallel, defaulted to n_runs, and bounded by the job's runs over all its tasks. */
import { describe, expect, it } from 'vitest'
import { jobMaxParallel, uploadFormParser } from '../../../src/api/upload/upload-form.js'

const parse = uploadFormParser(1000, 'docker', [])
const form = (fields: Record<string, string>) => parse({ model: 'openai/gpt-4o', agent: 'oracle', ...fields })

describe('max_parallel', () => {
  it('defaults to n_runs', () => {
    expect(jobMaxParallel(form({ n_runs: '4' }), 1)).toBe(4)
    expect(jobMaxParallel(form({ n_runs: '4' }), 3)).toBe(4)
  })

  it("is at most the job's runs: n_runs for each task", () => {
    expect(jobMaxParallel(form({ n_runs: '2', max_parallel: '5' }), 1)).toBe(2)
    expect(jobMaxParallel(form({ n_runs: '1', max_parallel: '3' }), 3)).toBe(3)
    expect(jobMaxParallel(form({ n_runs: '2', max_parallel: '9' }), 3)).toBe(6)
    expect(jobMaxParallel(form({ n_runs: '3', max_parallel: '2' }), 3)).toBe(2)
  })
})
