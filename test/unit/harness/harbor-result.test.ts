/** Outcomes from real Harbor 0.26 trial results (test/fixtures/harbor-output, see its README). */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  outcomeFromTrialResult,
  outcomeWithoutTrialResult,
  parseTrialResultJson,
  passes,
  primaryReward,
  UnreadableResultError,
} from '../../../src/harness/harbor/result.js'
import { testCountsFromCtrf } from '../../../src/logs/ctrf.js'
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
    expect(o).toMatchObject({
      outcome: 'passed',
      error_class: null,
      error_message: null,
      reward: 1,
      rewards: { reward: 1 },
    })
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
    expect(o).toMatchObject({
      outcome: 'error',
      error_class: 'verifier',
      reward: null,
      exception_type: 'RewardFileNotFoundError',
    })
    expect(o.error_message).toMatch(/No reward file found/)
  })

  it('error (verifier) when the reward file is empty or unreadable', () => {
    expect(outcomeOf('verifier-empty-reward')).toMatchObject({
      outcome: 'error',
      error_class: 'verifier',
      exception_type: 'RewardFileEmptyError',
    })
    expect(outcomeOf('verifier-bad-reward-json')).toMatchObject({
      outcome: 'error',
      error_class: 'verifier',
      exception_type: 'VerifierOutputParseError',
    })
  })

  it('error (infra) when the environment never became healthy, never started, or the trial was interrupted', () => {
    expect(outcomeOf('environment-error')).toMatchObject({
      outcome: 'error',
      error_class: 'infra',
      exception_type: 'HealthcheckError',
    })
    // An exception type the table does not know, raised before the agent ran.
    expect(outcomeOf('environment-start-error')).toMatchObject({
      outcome: 'error',
      error_class: 'infra',
      exception_type: 'RuntimeError',
    })
    expect(outcomeOf('cancelled')).toMatchObject({
      outcome: 'error',
      error_class: 'infra',
      exception_type: 'CancelledError',
    })
  })

  it('error (agent) when the agent failed and nothing was verified', () => {
    expect(outcomeOf('agent-error-no-reward')).toMatchObject({ outcome: 'error', error_class: 'agent', reward: null })
  })

  it('error (provider) for a bad key, a rate limit and an unknown model, never "failed"', () => {
    expect(outcomeOf('provider-auth')).toMatchObject({
      outcome: 'error',
      error_class: 'provider',
      exception_type: 'AuthenticationError',
    })
    expect(outcomeOf('provider-unknown-model')).toMatchObject({
      outcome: 'error',
      error_class: 'provider',
      exception_type: 'NotFoundError',
    })
    // Harbor still graded this one (reward 0) but marked the reward invalid: it is no failure of the agent.
    const rateLimited = outcomeOf('provider-rate-limit')
    expect(rateLimited).toMatchObject({
      outcome: 'error',
      error_class: 'provider',
      exception_type: 'RateLimitError',
      rewards: { reward: 0 },
    })
    expect(rateLimited.error_message).toMatch(/Rate limit exceeded/)
  })

  it('keeps multi-key rewards whole and judges by `reward`', () => {
    expect(outcomeOf('multi-key-reward')).toMatchObject({
      outcome: 'passed',
      reward: 1,
      rewards: { reward: 1, style: 0.5 },
    })
  })

  it("reads test counts from the verifier's CTRF report", () => {
    const dir = path.join(FIXTURES, 'ctrf')
    const trial = readdirSync(dir).find((e) => e.includes('__'))!
    const tests = testCountsFromCtrf(readFileSync(path.join(dir, trial, 'verifier', 'ctrf.json'), 'utf8'))
    expect(tests).toEqual({ total: 3, passed: 2, failed: 1, skipped: 0, other: 0 })
    expect(outcomeFromTrialResult(parseTrialResultJson(trialResult('ctrf')), tests)).toMatchObject({
      outcome: 'failed',
      tests,
    })
    expect(testCountsFromCtrf('not json')).toBeNull()
    expect(testCountsFromCtrf('{"results": {}}')).toBeNull()
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
    expect(passes({ reward: 1, style: 0 })).toBe(true)
    expect(passes({ reward: 0.99 })).toBe(false)
    expect(passes({ a: 1, b: 1 })).toBe(true)
    expect(passes({ a: 1, b: 0.5 })).toBe(false)
  })
})

describe('outcome without a trial result', () => {
  it('is a harness error that names the exception of a real crash, without the traceback', () => {
    const dir = path.join(FIXTURES, 'harness-crash')
    const o = outcomeWithoutTrialResult(
      Number(readFileSync(path.join(dir, 'exit-code.txt'), 'utf8')),
      readFileSync(path.join(dir, 'harness.stderr.txt'), 'utf8'),
      readFileSync(path.join(dir, 'harness.stdout.txt'), 'utf8'),
    )
    expect(o).toMatchObject({ outcome: 'error', error_class: 'harness' })
    expect(o.error_message).toMatch(/^harbor exited with status 1: File ".*faults\.py"/)
    expect(o.error_message).toMatch(/SimulatedHarnessCrash: simulated harness crash/)
    expect(o.error_message).not.toMatch(/^\s*\|/m)
    expect(o.error_message!.split('\n').length).toBeLessThanOrEqual(6)
  })

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
