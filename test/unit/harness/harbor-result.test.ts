/** Outcomes from real Harbor 0.26 trial results (test/fixtures/harbor-output, see its README). */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  outcomeFromTrialResult,
  outcomeWithoutTrialResult,
  parseTrialResultJson,
  primaryReward,
  UnreadableResultError,
} from '../../../src/harness/harbor-result.js'
import { PROJECT_ROOT } from '../../../src/paths.js'

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'harbor-output')

function trialResult(caseName: string): string {
  const dir = path.join(FIXTURES, caseName)
  const trial = readdirSync(dir).find((e) => e.includes('__'))!
  return readFileSync(path.join(dir, trial, 'result.json'), 'utf8')
}

const outcomeOf = (caseName: string) => outcomeFromTrialResult(parseTrialResultJson(trialResult(caseName)))

describe('outcome of a real Harbor trial', () => {
  it('passed: reward 1, no exception', () => {
    const o = outcomeOf('passed')
    expect(o).toMatchObject({ outcome: 'passed', error_class: null, error_message: null, reward: 1, rewards: { reward: 1 } })
    expect(o.cost_usd).toBeNull()
    expect(o.phases?.agent_execution?.started_at).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(o.phases?.verifier?.finished_at).toMatch(/^\d{4}-\d\d-\d\dT/)
  })

  it('failed: reward 0', () => {
    expect(outcomeOf('failed')).toMatchObject({ outcome: 'failed', error_class: null, reward: 0 })
  })

  it('failed with the agent crash recorded beside it, when the verifier still ran', () => {
    const o = outcomeOf('agent-error')
    expect(o).toMatchObject({ outcome: 'failed', error_class: null, reward: 0, exception_type: 'FileNotFoundError' })
    expect(o.error_message).toMatch(/^FileNotFoundError: Solution script not found/)
    expect(outcomeOf('agent-timeout')).toMatchObject({ outcome: 'failed', exception_type: 'RuntimeError' })
  })

  it('error (verifier) when no reward file was written', () => {
    const o = outcomeOf('verifier-error')
    expect(o).toMatchObject({ outcome: 'error', error_class: 'verifier', reward: null, exception_type: 'RewardFileNotFoundError' })
    expect(o.error_message).toMatch(/No reward file found/)
  })

  it('error (infra) when the environment never became healthy, or the trial was interrupted', () => {
    expect(outcomeOf('environment-error')).toMatchObject({ outcome: 'error', error_class: 'infra', exception_type: 'HealthcheckError' })
    expect(outcomeOf('cancelled')).toMatchObject({ outcome: 'error', error_class: 'infra', exception_type: 'CancelledError' })
  })
})

describe('reading result documents', () => {
  it('rejects what is not a trial result', () => {
    expect(() => parseTrialResultJson('{not json')).toThrow(UnreadableResultError)
    expect(() => parseTrialResultJson('{"hello": 1}')).toThrow(UnreadableResultError)
  })

  it('takes `reward` as the pass-mark reward and keeps multi-key rewards whole', () => {
    expect(primaryReward({ reward: 0.5, partial: 1 })).toBe(0.5)
    expect(primaryReward({ score: 1 })).toBe(1)
    expect(primaryReward({ a: 1, b: 0 })).toBe(0.5)
  })
})

describe('outcome without a trial result', () => {
  it('is a harness error whose message is the end of the traceback, not the whole dump', () => {
    const traceback = [
      'Traceback (most recent call last):',
      ...Array.from({ length: 40 }, (_, i) => `  File "/x/y${i}.py", line ${i}, in f${i}`),
      'ValueError: Either datasets or tasks must be provided.',
    ].join('\n')
    const o = outcomeWithoutTrialResult(1, traceback)
    expect(o).toMatchObject({ outcome: 'error', error_class: 'harness' })
    expect(o.error_message).toMatch(/^harbor exited with status 1: /)
    expect(o.error_message).toMatch(/ValueError: Either datasets or tasks must be provided\.$/)
    expect(o.error_message!.split('\n').length).toBeLessThanOrEqual(6)
  })

  it('falls back to stdout, where Harbor prints some refusals', () => {
    // What harbor 0.26 prints (exit 1) when the environment class cannot be imported.
    const o = outcomeWithoutTrialResult(1, '', "Failed to import module 'nope': No module named 'nope'\n")
    expect(o).toMatchObject({ outcome: 'error', error_class: 'harness' })
    expect(o.error_message).toBe("harbor exited with status 1: Failed to import module 'nope': No module named 'nope'")
  })

  it('is an infra error when Harbor found no usable Docker on the host', () => {
    // What harbor 0.26 prints (exit 1) on a host without a Docker daemon.
    const o = outcomeWithoutTrialResult(1, 'Docker daemon is not running. Please start Docker and try again.\n')
    expect(o).toMatchObject({ outcome: 'error', error_class: 'infra' })
  })
})
