/** Outcomes from Terminal-Bench 0.2.18 runs (test/fixtures/tb-output, see its README). */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { TB_SAFE_ID, tbAttemptLayout, tbRunArgv, tbTaskId } from '../../../src/harness/terminus/command.js'
import {
  outcomeFromTbResults,
  outcomeFromTbTrial,
  outcomeWithoutTbResults,
  parseTbResultsJson,
  UnreadableTbResultsError,
  type TbTrialResults,
} from '../../../src/harness/terminus/result.js'
import { PROJECT_ROOT } from '../../../src/paths.js'

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tb-output')

/** One case's run: `<case>/<run id = case>/` plus tb's streams beside it. */
function fixture(caseName: string) {
  const dir = path.join(FIXTURES, caseName)
  const runDir = path.join(dir, caseName)
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null)
  return {
    results: read(path.join(runDir, 'results.json')),
    runLog: read(path.join(runDir, 'run.log')) ?? '',
    stderr: read(path.join(dir, 'tb.stderr')) ?? '',
    stdout: read(path.join(dir, 'tb.stdout')) ?? '',
    exitCode: Number(read(path.join(dir, 'tb.exit'))),
  }
}

/** What the service does with a finished run: results.json and run.log if there, else the streams. */
function outcomeOf(caseName: string) {
  const f = fixture(caseName)
  return f.results === null
    ? outcomeWithoutTbResults(f.exitCode, f.stderr, f.stdout)
    : outcomeFromTbResults(parseTbResultsJson(f.results), f.runLog)
}

function trialOf(caseName: string): TbTrialResults {
  return parseTbResultsJson(fixture(caseName).results!).results[0]!
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/

describe('outcome of a tb run whose tests gave a verdict', () => {
  it('passed: resolved, reward 1, test counts, phases from the trial timestamps', () => {
    const o = outcomeOf('passed')
    expect(o).toMatchObject({
      outcome: 'passed',
      error_class: null,
      error_message: null,
      exception_type: null,
      reward: 1,
      rewards: { reward: 1 },
      tests: { total: 2, passed: 2, failed: 0, skipped: 0, other: 0 },
      n_input_tokens: 0,
      n_output_tokens: 0,
      n_cache_tokens: null,
      cost_usd: null,
    })
    const trial = trialOf('passed')
    expect(o.phases).toEqual({
      environment_setup: { started_at: trial.trial_started_at, finished_at: trial.agent_started_at },
      agent_setup: null,
      agent_execution: { started_at: trial.agent_started_at, finished_at: trial.agent_ended_at },
      verifier: { started_at: trial.test_started_at, finished_at: trial.test_ended_at },
      trial: { started_at: trial.trial_started_at, finished_at: trial.trial_ended_at },
    })
    expect(o.phases?.verifier?.finished_at).toMatch(ISO)
  })

  it('failed: unresolved, reward 0', () => {
    expect(outcomeOf('failed')).toMatchObject({
      outcome: 'failed',
      error_class: null,
      error_message: null,
      reward: 0,
      tests: { total: 2, passed: 1, failed: 1 },
    })
  })

  it('failed with the agent timeout recorded beside it: the tests still ran', () => {
    const o = outcomeOf('agent-timeout')
    expect(o).toMatchObject({ outcome: 'failed', error_class: null, reward: 0, exception_type: 'agent_timeout' })
    expect(o.error_message).toMatch(/^agent_timeout: .*\(Agent timed out after 3\.0s for task tb-hello\.\)$/)
  })

  it('passed with a model agent, its token totals kept and its cost unknown', () => {
    const o = outcomeOf('terminus-passed')
    expect(o).toMatchObject({ outcome: 'passed', reward: 1, cost_usd: null, n_cache_tokens: null })
    expect(o.n_input_tokens).toBeGreaterThan(0)
    expect(o.n_output_tokens).toBeGreaterThan(0)
  })

  it("failed with the model's unparseable answers beside it (an agent failure keeps the verdict)", () => {
    const o = outcomeOf('llm-parse-error')
    expect(o).toMatchObject({
      outcome: 'failed',
      reward: 0,
      exception_type: 'fatal_llm_parse_error',
      n_input_tokens: null,
    })
  })
})

describe('outcome of a tb run that ended in an error', () => {
  it('verifier: the tests timed out, or their output could not be parsed', () => {
    const timeout = outcomeOf('test-timeout')
    expect(timeout).toMatchObject({ outcome: 'error', error_class: 'verifier', exception_type: 'test_timeout' })
    expect(timeout.error_message).toMatch(/Test command timed out after 2\.0s/)
    const parse = outcomeOf('parse-error')
    expect(parse).toMatchObject({ outcome: 'error', error_class: 'verifier', exception_type: 'parse_error' })
    expect(parse.error_message).toMatch(/No short test summary info found/)
  })

  it('provider: the model error behind unknown_agent_error is read from the log, and voids the verdict', () => {
    // TB still ran (and failed) the tests; its results.json says only unknown_agent_error.
    expect(trialOf('bad-key')).toMatchObject({ failure_mode: 'unknown_agent_error', is_resolved: false })
    const cases = {
      'bad-key': 'AuthenticationError', // real LiteLLM against a 401 stand-in (terminus-2)
      'rate-limit': 'RateLimitError', // 429 (terminus-2)
      'no-endpoints': 'NotFoundError', // 404 (terminus)
      'unknown-model': 'BadRequestError', // OpenRouter's 400 "is not a valid model ID" (terminus)
    }
    for (const [caseName, exceptionType] of Object.entries(cases)) {
      const o = outcomeOf(caseName)
      expect(o, caseName).toMatchObject({ outcome: 'error', error_class: 'provider', exception_type: exceptionType })
      expect(o.reward, caseName).toBeNull()
      expect(o.error_message, caseName).toContain(exceptionType)
    }
    expect(outcomeOf('bad-key').error_message).toMatch(/No auth credentials found/)
  })

  it('infra: no Docker daemon on the host (real tb), or the image build failed', () => {
    const noDocker = outcomeOf('no-docker')
    expect(fixture('no-docker').exitCode).toBe(0)
    expect(noDocker).toMatchObject({ outcome: 'error', error_class: 'infra', exception_type: 'unknown_agent_error' })
    expect(noDocker.error_message).toMatch(/Harness execution failed for .*Error creating docker client/)
    expect(noDocker.phases?.agent_execution).toBeNull()
    const build = outcomeOf('docker-build-failed')
    expect(build).toMatchObject({ outcome: 'error', error_class: 'infra' })
    expect(build.error_message).toMatch(/docker', 'compose'.*'build'\]' returned non-zero exit status 1/)
  })

  it('harness: tb crashed before any trial (exit 1, no results.json), with the end of its traceback', () => {
    const f = fixture('harness-crash')
    expect(f.results).toBeNull()
    expect(f.exitCode).toBe(1)
    const o = outcomeOf('harness-crash')
    expect(o).toMatchObject({ outcome: 'error', error_class: 'harness' })
    expect(o.error_message).toMatch(/^tb exited with status 1: /)
    expect(o.error_message).toMatch(/ValueError: No tasks found matching pattern: no-such-task$/)
    expect(o.error_message!.split('\n').length).toBeLessThanOrEqual(6)
  })
})

describe('failure modes no fixture run produces', () => {
  const base = trialOf('failed')
  const withMode = (failure_mode: TbTrialResults['failure_mode'], extra: Partial<TbTrialResults> = {}) =>
    outcomeFromTbTrial({ ...base, failure_mode, ...extra })

  it('an agent timeout beside a resolved trial still passes', () => {
    const o = withMode('agent_timeout', { is_resolved: true })
    expect(o).toMatchObject({ outcome: 'passed', exception_type: 'agent_timeout' })
  })

  it('context or output length exceeded is an agent failure: the verdict stands', () => {
    const o = withMode('context_length_exceeded')
    expect(o).toMatchObject({ outcome: 'failed', reward: 0, exception_type: 'context_length_exceeded' })
    expect(withMode('output_length_exceeded')).toMatchObject({ outcome: 'failed', reward: 0 })
  })

  it('an agent crash without a model error in the log is recorded beside the verdict', () => {
    const o = withMode('unknown_agent_error')
    expect(o).toMatchObject({ outcome: 'failed', error_class: null, exception_type: 'unknown_agent_error' })
    expect(withMode('unknown_agent_error', { parser_results: null, is_resolved: null })).toMatchObject({
      outcome: 'error',
      error_class: 'agent',
    })
  })

  it('a model error in the log is a provider error even beside a resolved trial; a lost connection is infra', () => {
    const log = 'Error in LLM interaction: RetryError[<Future at 0x7f state=finished raised RateLimitError>]\n'
    expect(outcomeFromTbTrial({ ...base, failure_mode: 'unknown_agent_error', is_resolved: true }, log)).toMatchObject({
      outcome: 'error',
      error_class: 'provider',
      exception_type: 'RateLimitError',
    })
    const offline = 'Unknown Error in LLM interaction: litellm.APIConnectionError: Connection refused\n'
    const o = outcomeFromTbTrial({ ...base, failure_mode: 'unknown_agent_error' }, offline)
    expect(o).toMatchObject({ error_class: 'infra' })
  })

  it('an agent that could not be installed is infra, whatever the tests said', () => {
    const o = withMode('agent_installation_failed', { is_resolved: true })
    expect(o).toMatchObject({ outcome: 'error', error_class: 'infra' })
  })

  it('no verdict and no failure mode is a harness error', () => {
    const o = withMode('unset', { parser_results: null, is_resolved: null })
    expect(o).toMatchObject({ outcome: 'error', error_class: 'harness' })
  })
})

describe('reading results.json', () => {
  it('rejects what is not TB 0.2.18 BenchmarkResults', () => {
    expect(() => parseTbResultsJson('{not json')).toThrow(UnreadableTbResultsError)
    expect(() => parseTbResultsJson('{"hello": 1}')).toThrow(UnreadableTbResultsError)
    const text = fixture('failed').results!.replace('"failure_mode": "unset"', '"failure_mode": "exploded"')
    expect(() => parseTbResultsJson(text)).toThrow(/failure_mode/)
  })

  it('a results.json without a trial is a harness error', () => {
    expect(outcomeFromTbResults({ results: [] })).toMatchObject({ outcome: 'error', error_class: 'harness' })
  })
})

describe('outcome without results.json', () => {
  it('is infra when the host has no Docker, and says so when the process was lost', () => {
    const stderr = 'RuntimeError: Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n'
    expect(outcomeWithoutTbResults(1, stderr)).toMatchObject({ error_class: 'infra' })
    expect(outcomeWithoutTbResults(null, '')).toMatchObject({
      error_class: 'harness',
      error_message: 'the harness process was lost and wrote no results.json',
    })
  })
})

describe('the tb run command line', () => {
  const spec = {
    tbBin: '/venv/bin/tb',
    datasetPath: '/w/attempt-1/dataset',
    taskId: 'tb-hello-0123456789ab',
    agent: 'terminus',
    model: 'openrouter/openai/gpt-4o',
    outputPath: '/w/attempt-1/tb-runs',
    runId: 'job-run-1-attempt-1',
    timeoutMultiplier: 1.5,
  }

  it('runs one task once, in a deterministic run directory, with no livestream, upload or cleanup', () => {
    expect(tbRunArgv(spec)).toEqual([
      '/venv/bin/tb',
      'run',
      '--dataset-path',
      '/w/attempt-1/dataset',
      '--task-id',
      'tb-hello-0123456789ab',
      '--agent',
      'terminus',
      '--model',
      'openrouter/openai/gpt-4o',
      '--output-path',
      '/w/attempt-1/tb-runs',
      '--run-id',
      'job-run-1-attempt-1',
      '--n-concurrent',
      '1',
      '--n-attempts',
      '1',
      '--global-timeout-multiplier',
      '1.5',
      '--no-livestream',
      '--no-upload-results',
      '--no-cleanup',
      '--log-level',
      'info',
    ])
    expect(tbRunArgv({ ...spec, model: null, cleanup: true })).not.toContain('--model')
    expect(tbRunArgv({ ...spec, cleanup: true })).toContain('--cleanup')
  })

  it('refuses ids tb would glob or Docker Compose would reject, and bad multipliers', () => {
    expect(() => tbRunArgv({ ...spec, taskId: 'hello*' })).toThrow(/taskId/)
    expect(() => tbRunArgv({ ...spec, runId: 'Run-1' })).toThrow(/runId/)
    expect(() => tbRunArgv({ ...spec, timeoutMultiplier: 0 })).toThrow(/timeoutMultiplier/)
  })

  it('derives safe, content-distinct task ids and the trial directory', () => {
    const id = tbTaskId('Hello World.v2', 'ABCDEF0123456789')
    expect(id).toBe('hello-world-v2-abcdef012345')
    expect(TB_SAFE_ID.test(id)).toBe(true)
    expect(tbTaskId('Hello World.v2', '0000')).not.toBe(id)
    const layout = tbAttemptLayout('/w/a1', 'tb-hello', 'r1')
    expect(layout.trialResults).toBe('/w/a1/tb-runs/r1/tb-hello/tb-hello.1-of-1.r1/results.json')
    expect(layout.task).toBe('/w/a1/dataset/tb-hello')
  })
})
