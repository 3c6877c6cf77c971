/**
 * The durable pipeline end to end, through the real components: upload over HTTP → JobWorkflow on
 * the Temporal dev server → N × RunWorkflow → the real `harbor` CLI (trials in the test-only
 * environment) → results and live logs in PostgreSQL → the API.
 */
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import JSZip from 'jszip'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PROJECT_ROOT } from '../../src/paths.js'
import { runWorkflowId, jobWorkflowId } from '../../src/shared/ids.js'
import { getJson, readSse, upload, waitForJob, type SseEvent } from '../helpers/api-client.js'
import { filesContaining, historyText } from '../helpers/secrets-scan.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'

const TASKS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks')
const SECRET = 'sk-or-v1-pipeline-test-0123456789abcdef'

let service: TestService
let temporal: Client
/** Every API response body of this file, to check none carries the key. */
const responses: string[] = []

async function api(p: string) {
  const r = await getJson(service.api.url, p)
  responses.push(JSON.stringify(r.body))
  return r
}

beforeAll(async () => {
  service = await startTestService()
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  await service?.stop()
  await temporal?.connection.close()
})

describe('a job of the passing task and one of the failing task', () => {
  let passJob: any
  let failJob: any
  let liveRun1: { events: SseEvent[]; statusWhenFirstAgentLine: string | null }
  let firstPart: SseEvent[]
  let resumed: { events: SseEvent[]; ended: boolean }
  /** The failing job's page stream (`/events`), followed from its upload to its end. */
  let failJobEvents: Promise<{ events: SseEvent[]; ended: boolean; endedAt: number }>

  beforeAll(async () => {
    const pass = await upload(service.api.url, {
      file: await zipDirectory(path.join(TASKS, 'hello-pass')),
      filename: 'hello-pass.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '3', openrouter_key: SECRET },
    })
    const fail = await upload(service.api.url, {
      file: await zipDirectory(path.join(TASKS, 'hello-fail')),
      filename: 'hello-fail.zip',
      fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2', openrouter_key: SECRET },
    })
    responses.push(JSON.stringify(pass.body), JSON.stringify(fail.body))
    expect(pass.status).toBe(201)
    expect(fail.status).toBe(201)
    failJobEvents = readSse(`${service.api.url}/api/jobs/${fail.body.job_id}/events`).then((r) => ({
      ...r,
      endedAt: Date.now(),
    }))
    const stream = (runNumber: number) =>
      `${service.api.url}/api/jobs/${pass.body.job_id}/runs/${runNumber}/logs/stream`

    // Run 1, followed live: note the run's status (through the API) when the agent's first line arrives.
    let statusWhenFirstAgentLine: string | null = null
    const live = readSse(stream(1), {
      stopWhen: (e) => {
        if (e.event === 'log' && e.data.stream === 'agent' && statusWhenFirstAgentLine === null) {
          statusWhenFirstAgentLine = 'pending'
          void getJson(service.api.url, `/api/jobs/${pass.body.job_id}/runs/1`).then((r) => {
            statusWhenFirstAgentLine = r.body.status
          })
        }
        return false
      },
    })
    // Run 2, followed by a client that drops after three log lines and resumes with Last-Event-ID.
    firstPart = (await readSse(stream(2), { stopWhen: (_e, all) => all.filter((x) => x.event === 'log').length >= 3 }))
      .events
    resumed = await readSse(stream(2), { lastEventId: firstPart.at(-1)!.id! })

    liveRun1 = { events: (await live).events, statusWhenFirstAgentLine: null }
    await new Promise((r) => setTimeout(r, 200))
    liveRun1.statusWhenFirstAgentLine = statusWhenFirstAgentLine

    passJob = await waitForJob(service.api.url, pass.body.job_id, (j) => j.status === 'completed')
    failJob = await waitForJob(service.api.url, fail.body.job_id, (j) => j.status === 'completed')
    responses.push(JSON.stringify(passJob), JSON.stringify(failJob))
  }, 180_000)

  it('runs the passing task: 3 runs passed with reward 1, pass@1 = 1', () => {
    expect(passJob.runs).toHaveLength(3)
    for (const run of passJob.runs) {
      expect(run).toMatchObject({
        status: 'completed',
        outcome: 'passed',
        reward: 1,
        error_class: null,
        attempts: 1,
        host: 'local',
      })
    }
    expect(passJob.metrics).toMatchObject({ valid_n: 3, counts: { passed: 3, failed: 0, error: 0 }, mean_reward: 1 })
    expect(passJob.metrics.pass_at_k).toEqual({ '1': 1, '2': 1 })
    expect(passJob.runs_by_status.completed).toBe(3)
  })

  it('runs the failing task: runs failed with reward 0, pass@1 = 0', () => {
    for (const run of failJob.runs) expect(run).toMatchObject({ status: 'completed', outcome: 'failed', reward: 0 })
    expect(failJob.metrics).toMatchObject({ valid_n: 2, counts: { passed: 0, failed: 2 } })
    expect(failJob.metrics.pass_at_k['1']).toBe(0)
  })

  it('shows a run with its attempts, phase timings and host', async () => {
    const { status, body } = await api(`/api/jobs/${passJob.job_id}/runs/1`)
    expect(status).toBe(200)
    expect(body.attempt_history).toHaveLength(1)
    expect(body.attempt_history[0]).toMatchObject({
      attempt: 1,
      host: 'local',
      outcome: 'passed',
      harness_exit_code: 0,
    })
    for (const phase of ['environment_setup', 'agent_setup', 'agent_execution', 'verifier']) {
      expect(body.phase_timings[phase].duration_sec).toBeGreaterThanOrEqual(0)
    }
    expect(body.phase_timings.agent_execution.duration_sec).toBeGreaterThan(2) // the solution sleeps 2.5 s
  })

  it('streams log lines while the run is still running, and ends the stream after the final event', () => {
    const { events, statusWhenFirstAgentLine } = liveRun1
    expect(statusWhenFirstAgentLine).toBe('running')
    const agentLines = events.filter((e) => e.event === 'log' && e.data.stream === 'agent')
    expect(agentLines.map((e) => e.data.line)).toEqual(expect.arrayContaining(['solve step 1/5', 'solve step 5/5']))
    const completedStatus = events.find((e) => e.event === 'status' && e.data.status === 'completed')!
    // Lines arrived as they were written, seconds before the run completed: not in one batch at the end.
    expect(completedStatus.at - agentLines[0]!.at).toBeGreaterThan(1500)
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed', outcome: 'passed' } })
    expect(events.filter((e) => e.event === 'status').map((e) => e.data.status)).toEqual([
      'staging',
      'running',
      'collecting',
      'completed',
    ])
  })

  it('continues after a reconnect with Last-Event-ID with no gap and no duplicate', async () => {
    expect(resumed.ended).toBe(true)
    const ids = [...firstPart, ...resumed.events].filter((e) => e.id !== null).map((e) => Number(e.id))
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
    const run2 = (await api(`/api/jobs/${passJob.job_id}/runs/2`)).body
    expect(ids.at(-1)).toBe(run2.log_lines)
    // A client that reconnects after the end gets only the end event.
    const after = await readSse(`${service.api.url}/api/jobs/${passJob.job_id}/runs/2/logs/stream`, {
      lastEventId: String(run2.log_lines),
    })
    expect(after.events.map((e) => e.event)).toEqual(['end'])
  })

  it("streams the job's page: each change of its runs as a job event, then its end", async () => {
    const { events, ended, endedAt } = await failJobEvents
    expect(ended).toBe(true)
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed' } })
    // The end is sent as the job ends (its record notifies the stream), not at the next timer.
    const job = (await getJson(service.api.url, `/api/jobs/${failJob.job_id}`)).body
    expect(endedAt - Date.parse(job.finished_at)).toBeLessThan(1000)
    const jobs = events.filter((e) => e.event === 'job')
    expect(jobs.map((e) => Number(e.id))).toEqual(jobs.map((_e, i) => i + 1))
    // Live, not only the first and the last state: some event shows a run under way.
    const underWay = ['staging', 'running', 'collecting']
    expect(jobs.some((e) => e.data.runs.some((r: any) => underWay.includes(r.status)))).toBe(true)
    // Only changes are sent: no two events in a row differ by log counts alone.
    const withoutCounts = jobs.map((e) =>
      JSON.stringify({ ...e.data, runs: e.data.runs.map((r: any) => ({ ...r, log_lines: 0 })) }),
    )
    for (let i = 1; i < withoutCounts.length; i++) expect(withoutCounts[i]).not.toBe(withoutCounts[i - 1])
    expect(jobs.at(-1)!.data.runs.map((r: any) => [r.status, r.outcome])).toEqual([
      ['completed', 'failed'],
      ['completed', 'failed'],
    ])
  })

  it("serves the run's collected files as a zip: result, agent log, verifier output", async () => {
    const res = await fetch(`${service.api.url}/api/jobs/${passJob.job_id}/runs/1/artifacts`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/zip')
    const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()))
    const names = Object.keys(zip.files).filter((n) => !zip.files[n]!.dir)
    // In the trial's directory (`<task>__<id>/`), not the Harbor job's.
    const trialFile = (suffix: string) => names.find((n) => /__\w+\//.test(n) && n.endsWith(suffix))
    expect(trialFile('/result.json')).toMatch(/attempt-1\/jobs\/.*__\w+\/result\.json$/)
    expect(await zip.file(trialFile('/agent/oracle.txt')!)!.async('string')).toContain('solve step 5/5')
    expect(await zip.file(trialFile('/verifier/test-stdout.txt')!)!.async('string')).toContain('PASS')
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/attempt-1\/harness\.stdout\.txt$/)]))
    for (const name of names) responses.push(await zip.file(name)!.async('string'))
    expect((await api(`/api/jobs/${passJob.job_id}/runs/9/artifacts`)).body.error.code).toBe('run_not_found')
  })

  it('keeps the API key out of Temporal history, log lines, API responses and files', async () => {
    for (const job of [passJob, failJob]) {
      expect(await historyText(temporal, jobWorkflowId(job.job_id))).not.toContain(SECRET)
      for (const run of job.runs) {
        const history = await historyText(temporal, runWorkflowId(job.job_id, run.run_number))
        expect(history).toContain(job.job_id) // the scan reads real histories
        expect(history).not.toContain(SECRET)
      }
      const log = await fetch(`${service.api.url}/api/jobs/${job.job_id}/runs/1/logs`)
      responses.push(await log.text())
    }
    const lines = await service.db.db.selectFrom('run_log_lines').select('line').execute()
    expect(lines.length).toBeGreaterThan(20)
    expect(lines.filter((l) => l.line.includes(SECRET))).toEqual([])
    responses.push(JSON.stringify((await api('/api/jobs')).body))
    expect(responses.filter((r) => r.includes(SECRET))).toEqual([])
    expect(await filesContaining(service.config.dataDir, SECRET)).toEqual([])
    // The sealed key itself is purged once the job has ended.
    expect(await service.db.db.selectFrom('job_secrets').selectAll().execute()).toEqual([])
  })

  it('labels each workflow with its job, run number and model for the Temporal Web UI', async () => {
    const job = await temporal.workflow.getHandle(jobWorkflowId(passJob.job_id)).describe()
    expect(job.memo).toMatchObject({
      jobId: passJob.job_id,
      model: 'openai/gpt-4o',
      agent: 'oracle',
      task: 'hello-pass',
    })
    expect(await job.staticSummary()).toContain('hello-pass')
    const run = await temporal.workflow.getHandle(runWorkflowId(passJob.job_id, 2)).describe()
    expect(run.memo).toMatchObject({ jobId: passJob.job_id, runNumber: 2, model: 'openai/gpt-4o' })
    expect(await run.staticSummary()).toMatch(/^run 2\/3 of hello-pass/)
  })

  it('lists jobs, newest first, with filters', async () => {
    const all = (await api('/api/jobs')).body
    expect(all.total).toBe(2)
    expect(all.jobs.map((j: any) => j.job_id)).toEqual([failJob.job_id, passJob.job_id])
    const some = (await api('/api/jobs?limit=1&offset=1')).body
    expect(some.jobs.map((j: any) => j.job_id)).toEqual([passJob.job_id])
    expect((await api('/api/jobs?task_name=hello-fail')).body.jobs).toHaveLength(1)
    expect((await api('/api/jobs?limit=0')).status).toBe(400)
  })
})
