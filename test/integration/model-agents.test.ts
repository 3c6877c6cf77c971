/**
 * A model-driven agent (Harbor's terminus-2, through LiteLLM) against a stand-in for the OpenRouter
 * API on loopback: one "model" solves the task, others answer 401 or 429. The real agent loop runs;
 * the outcome is classified, tokens counted, cost left unknown, and the trajectory and the harness
 * phases stream live.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { getJson, readSse, upload, waitForJob, type SseEvent } from '../helpers/api-client.js'
import { startFakeOpenRouter, type FakeOpenRouter } from '../helpers/fake-openrouter.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'

const KEY = 'sk-or-v1-model-agents-test-0123456789'
let fake: FakeOpenRouter
let service: TestService

beforeAll(async () => {
  // Every completion takes 1 s, so the trajectory visibly grows while the run goes on.
  fake = await startFakeOpenRouter(['--by-model', "echo 'Hello, Harbor!' > /app/hello.txt\n", '--delay', '1'])
  service = await startTestService({ env: { OPENROUTER_BASE_URL: fake.baseUrl } })
})
afterAll(async () => {
  await service?.stop()
  await fake?.stop()
})

async function submit(model: string) {
  const res = await upload(service.api.url, {
    file: await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')),
    filename: 'hello-pass.zip',
    fields: { model, agent: 'terminus-2', n_runs: '1', openrouter_key: KEY },
  })
  expect(res.status).toBe(201)
  return res.body.job_id as string
}

describe('terminus-2 against a model endpoint', () => {
  let solved: { job: any; events: SseEvent[]; runWhileAgent: any }
  let unauthorised: any
  let rateLimited: any

  beforeAll(async () => {
    const [solveId, authId, rateId] = await Promise.all([
      submit('fake/solve'),
      submit('fake/status-401'),
      submit('fake/status-429'),
    ])
    let runWhileAgent: any = null
    const stream = readSse(`${service.api.url}/api/jobs/${solveId}/runs/1/logs/stream`, {
      stopWhen: (e) => {
        if (e.event === 'phase' && e.data.phase === 'agent' && !runWhileAgent) {
          runWhileAgent = 'pending'
          void getJson(service.api.url, `/api/jobs/${solveId}/runs/1`).then((r) => (runWhileAgent = r.body))
        }
        return false
      },
    })
    const jobs = await Promise.all(
      [solveId, authId, rateId].map((id) => waitForJob(service.api.url, id, (j) => j.status === 'completed', 150_000)),
    )
    solved = { job: jobs[0], events: (await stream).events, runWhileAgent }
    unauthorised = jobs[1]
    rateLimited = jobs[2]
  }, 200_000)

  it('passes when the model solves the task, with its tokens counted and its cost unknown', () => {
    expect(solved.job.runs[0]).toMatchObject({
      outcome: 'passed',
      reward: 1,
      tokens: { input: 2400, cache: 0, output: 160 },
      cost_usd: null,
    })
    expect(solved.job.metrics.tokens).toEqual({ input: 2400, cache: 0, output: 160 })
    expect(solved.job.metrics.cost_usd).toBeNull()
  })

  it('streams the harness phases, shows the current one on the run, and streams each trajectory step', () => {
    const phases = solved.events.filter((e) => e.event === 'phase').map((e) => e.data.phase)
    expect(phases).toEqual(
      expect.arrayContaining(['environment_setup', 'agent_setup', 'agent', 'verifier', 'finishing']),
    )
    expect(phases.indexOf('agent')).toBeLessThan(phases.indexOf('verifier'))
    expect(solved.runWhileAgent).toMatchObject({ status: 'running', phase: 'agent' })

    const steps = solved.events.filter((e) => e.event === 'trajectory')
    expect(steps.map((e) => e.data.step.step_id)).toEqual([1, 2, 3])
    expect(steps[1]!.data.step).toMatchObject({
      source: 'agent',
      tool_calls: expect.arrayContaining([expect.objectContaining({ function: 'bash_command' })]),
    })
    // Steps arrived as the agent took them (a second apart), not all at the end.
    const completed = solved.events.find((e) => e.event === 'status' && e.data.status === 'completed')!
    expect(completed.at - steps[1]!.at).toBeGreaterThan(500)
  })

  it('classifies a refused key and a rate limit as provider errors, not failures of the agent', () => {
    expect(unauthorised.runs[0]).toMatchObject({ outcome: 'error', error_class: 'provider', attempts: 1 })
    expect(unauthorised.runs[0].error_message).toMatch(/^AuthenticationError: .*No auth credentials found/)
    expect(rateLimited.runs[0]).toMatchObject({ outcome: 'error', error_class: 'provider', attempts: 1 })
    expect(rateLimited.runs[0].error_message).toMatch(/^RateLimitError: .*Rate limit exceeded/)
    for (const job of [unauthorised, rateLimited]) {
      expect(job.metrics).toMatchObject({
        valid_n: 0,
        counts: { error: 1 },
        errors_by_class: { provider: 1 },
        pass_at_k: {},
      })
    }
  })

  it('never shows the key', async () => {
    const lines = await service.db.db.selectFrom('run_log_lines').select('line').execute()
    expect(lines.filter((l) => l.line.includes(KEY))).toEqual([])
    expect(JSON.stringify([solved, unauthorised, rateLimited])).not.toContain(KEY)
  })
})
