import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildHarborJobPlan, type HarborJobInput, type HarborJobPlan } from '../../../src/export/harbor-job.js'
import type { PlanEntry } from '../../../src/export/plan.js'
import { artifactAttemptDir } from '../../../src/shared/ids.js'
import { exportAttempt, exportJob, exportRun, exportTask } from '../../helpers/export-inputs.js'
import { harborJobWithEveryKindOfRun, PLANTED_KEY, RUNS } from '../../helpers/export-job.js'

let tmp: string
let input: HarborJobInput
let plan: HarborJobPlan
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-export-'))
  input = await harborJobWithEveryKindOfRun(path.join(tmp, 'artifacts'))
  plan = await buildHarborJobPlan(input, { artifactsDir: path.join(tmp, 'artifacts') })
})
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true })
})

type Json = Record<string, any>
const json = (p: string): Json => {
  const entry = plan.entries.find((e) => e.path === `${plan.jobName}/${p}`)
  if (!entry || !('json' in entry)) throw new Error(`no JSON entry ${p}`)
  return entry.json as Json
}
const trial = (run: number) => `hello-pass__r${String(run).padStart(6, '0')}`
const filesOf = (run: number) =>
  plan.entries
    .filter((e): e is Extract<PlanEntry, { sourceFile: string }> => 'sourceFile' in e)
    .filter((e) => e.path.startsWith(`${plan.jobName}/${trial(run)}/`))

describe('a Harbor job folder', () => {
  it('has the job config, lock and result, and a trial per finished run, named by its run', () => {
    expect(plan.jobName).toBe(input.job.id)
    const dirs = new Set(plan.entries.map((e) => e.path.split('/').slice(1, -1).join('/')).filter(Boolean))
    const finished = [RUNS.passed, RUNS.failed, RUNS.retriedPassed, RUNS.rateLimited, RUNS.cancelled, RUNS.lost]
    expect([...dirs].filter((d) => !d.includes('/')).sort()).toEqual([...finished, RUNS.neverStarted].map(trial).sort())
    for (const p of ['config.json', 'lock.json', 'result.json']) expect(json(p)).toBeTruthy()
    expect(json('config.json')).toMatchObject({
      job_name: input.job.id,
      jobs_dir: '.',
      n_attempts: 9,
      agents: [{ name: 'oracle', model_name: null }],
      environment: { type: 'docker' },
      tasks: [{ path: 'hello-pass' }],
    })
  })

  it("keeps Harbor's own result, made to agree with the folder", () => {
    const result = json(`${trial(RUNS.passed)}/result.json`)
    expect(result).toMatchObject({
      id: '06afa100-8a46-49d8-996b-7a959165d7f5',
      task_name: 'hello-pass',
      trial_name: trial(RUNS.passed),
      trial_uri: `${input.job.id}/${trial(RUNS.passed)}`,
      task_id: { path: 'hello-pass' },
      verifier_result: { rewards: { reward: 1 } },
      reward_valid: true,
      config: { trial_name: trial(RUNS.passed), trials_dir: input.job.id, job_id: input.job.id },
    })
    expect(json(`${trial(RUNS.passed)}/config.json`)).toEqual(result.config)
    expect(json(`${trial(RUNS.rateLimited)}/result.json`)).toMatchObject({
      exception_info: { exception_type: 'RateLimitError' },
      reward_valid: false,
    })
  })

  it("takes a retried run's last attempt, result and files", () => {
    expect(json(`${trial(RUNS.retriedPassed)}/result.json`)).toMatchObject({ exception_info: null, reward_valid: true })
    const files = filesOf(RUNS.retriedPassed)
    const attempt2 = artifactAttemptDir(input.job.id, RUNS.retriedPassed, 2)
    expect(files.every((f) => f.sourceFile.includes(attempt2))).toBe(true)
    expect(files.map((f) => f.path.split('/').slice(2).join('/')).sort()).toEqual([
      'agent/oracle.txt',
      'artifacts/manifest.json',
      'harness.stderr.txt',
      'trial.log',
      'verifier/reward.txt',
      'verifier/test-stdout.txt',
    ])
  })

  it('makes up a result for a run without one, from the run', () => {
    expect(json(`${trial(RUNS.lost)}/result.json`)).toMatchObject({
      id: input.runs.find((r) => r.run_number === RUNS.lost)!.id,
      task_name: 'hello-pass',
      task_checksum: 'ab'.repeat(32),
      agent_info: { name: 'oracle', version: '1.0.0', model_info: null },
      exception_info: {
        exception_type: 'InfraError',
        exception_message: 'the harness on local ended without an exit status',
        policy_override: { has_valid_reward: false },
      },
      verifier_result: null,
      reward_valid: false,
    })
    // What the harness left before it was lost is the trial's.
    expect(filesOf(RUNS.lost).map((f) => f.path.split('/').at(-1))).toEqual(['harness.stderr.txt', 'trial.log'])
    expect(json(`${trial(RUNS.neverStarted)}/result.json`)).toMatchObject({
      exception_info: { exception_type: 'CancelledError' },
      started_at: null,
    })
    expect(filesOf(RUNS.neverStarted)).toEqual([])
  })

  it("counts the job's trials as Harbor does", () => {
    expect(json('result.json')).toMatchObject({
      id: input.job.id,
      n_total_trials: 9,
      finished_at: '2026-11-29T06:00:00.000Z',
      stats: {
        n_completed_trials: 7,
        n_errored_trials: 4,
        n_running_trials: 1,
        n_pending_trials: 1,
        n_cancelled_trials: 2,
        n_retries: 1,
        evals: {
          // Errored: the cancelled run, the lost one, the one cancelled before it started.
          oracle__adhoc: { n_trials: 3, n_errors: 3, metrics: [{ mean: 2 / 3 }] },
          // Harbor recorded the rate-limited run's agent itself.
          'terminus-2__openai/gpt-4o__adhoc': { n_trials: 0, n_errors: 1, metrics: [] },
        },
      },
    })
  })

  it('writes no credential', () => {
    const text = JSON.stringify(plan.entries)
    expect(text).not.toContain(PLANTED_KEY)
    expect(json(`${trial(RUNS.rateLimited)}/result.json`).config.agent).toMatchObject({
      env: { OPENROUTER_API_KEY: '[REDACTED]' },
      kwargs: { llm_kwargs: { api_key: '[REDACTED]', temperature: 0 } },
    })
  })

  it('names where the folder is when it is written to a known place', async () => {
    const placed = await buildHarborJobPlan(input, { artifactsDir: path.join(tmp, 'artifacts'), jobsDir: '/data/jobs' })
    const result = placed.entries.find((e) => e.path.endsWith(`${trial(RUNS.passed)}/result.json`)) as { json: Json }
    expect(result.json['trial_uri']).toBe(`file:///data/jobs/${input.job.id}/${trial(RUNS.passed)}`)
    expect(result.json['config'].trials_dir).toBe(`/data/jobs/${input.job.id}`)
  })
})

describe('trials of runs of the terminus harness', () => {
  it('are made up from the runs, with the model the job named', async () => {
    const job = exportJob({ harness: 'terminus', agent: 'terminus', agent_without_model: false })
    const tasks = [exportTask({ index: 0, name: 'org/a-task-name-much-longer-than-thirty-two-chars' })]
    const runs = [
      exportRun(job, 1, { n_input_tokens: 100, n_output_tokens: 7 }),
      exportRun(job, 2, { outcome: 'failed', reward: 0, rewards: { reward: 0 }, error_message: 'agent_timeout' }),
    ]
    const phases = { agent_execution: { started_at: '2026-11-29T05:00:05Z', finished_at: '2026-11-29T05:00:25Z' } }
    const attempts = runs.map((run) => exportAttempt(run, { phases, result: { trial_name: 'tb', task_id: 'x' } }))
    const { entries } = await buildHarborJobPlan({ job, tasks, runs, attempts }, { artifactsDir: tmp })
    const results = entries.filter((e) => e.path.endsWith('/result.json') && e.path.split('/').length === 3)
    expect(results.map((e) => e.path.split('/')[1])).toEqual([
      'a-task-name-much-longer-than-thi__r000001',
      'a-task-name-much-longer-than-thi__r000002',
    ])
    const [first, second] = results.map((e) => (e as { json: Json }).json)
    expect(first).toMatchObject({
      task_name: 'org/a-task-name-much-longer-than-thirty-two-chars',
      agent_info: {
        name: 'terminus',
        version: 'unknown',
        model_info: { name: 'openai/gpt-4o', provider: 'openrouter' },
      },
      agent_result: { n_input_tokens: 100, n_output_tokens: 7, n_cache_tokens: null },
      agent_execution: phases.agent_execution,
      config: { agent: { name: 'terminus', model_name: 'openrouter/openai/gpt-4o' } },
      reward_valid: true,
    })
    // An error beside a verdict leaves the verdict standing.
    expect(second).toMatchObject({
      exception_info: { exception_type: 'AgentError', policy_override: { has_valid_reward: true } },
      reward_valid: true,
    })
  })

  it('refuses ids Harbor could not read', async () => {
    const job = exportJob({ id: 'job-1' })
    await expect(
      buildHarborJobPlan({ job, tasks: [exportTask()], runs: [], attempts: [] }, { artifactsDir: tmp }),
    ).rejects.toThrow(/not a UUID/)
  })
})
