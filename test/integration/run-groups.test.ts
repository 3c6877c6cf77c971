/**
 * A job of more than RUNS_PER_GROUP runs starts them through run group workflows (one workflow
 * starts its children one after another, about ten a second). With the load tests' stand-in agent
 * in real Harbor trials (runs of a second or two minutes): every run once, never more at once than
 * max_parallel, and a cancel that reaches every run through the groups.
 */
import path from 'node:path'
import { Connection, Client } from '@temporalio/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { upload, waitForJob } from '../helpers/api-client.js'
import { eventually } from '../helpers/eventually.js'
import { LOAD_AGENT, LOAD_AGENT_DIR, runnersOf } from '../helpers/runners.js'
import { HARBOR_ENV_PLUGIN_DIR, startTestService, type TestService } from '../helpers/service.js'
import { zipDirectory } from '../helpers/task-zips.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { runGroupWorkflowId, runWorkflowId } from '../../src/shared/ids.js'

let service: TestService
let temporal: Client
let zip: Buffer

beforeAll(async () => {
  service = await startTestService({
    env: { HARNESS_PYTHONPATH: `${HARBOR_ENV_PLUGIN_DIR}:${LOAD_AGENT_DIR}`, HOST_SLOTS: '60' },
  })
  temporal = new Client({
    connection: await Connection.connect({ address: service.env.TEMPORAL_ADDRESS! }),
    namespace: service.config.temporal.namespace,
  })
  zip = await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
})
afterAll(async () => {
  await temporal?.connection.close()
  await service?.stop()
})

const submit = async (nRuns: number, maxParallel: number, model: string) => {
  const res = await upload(service.api.url, {
    file: zip,
    fields: {
      model,
      agent: LOAD_AGENT,
      openrouter_key: 'sk-unused',
      n_runs: String(nRuns),
      max_parallel: String(maxParallel),
    },
  })
  expect(res.status).toBe(201)
  return res.body.job_id as string
}

it('runs 110 runs through 3 groups, each once, never more than max_parallel at once', async () => {
  const jobId = await submit(110, 11, 'load/d1-r2')
  const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'completed', 240_000)
  expect(job.runs.map((r: any) => [r.status, r.outcome, r.attempts])).toEqual(
    Array.from({ length: 110 }, () => ['completed', 'passed', 1]),
  )

  // The groups and their runs, as Temporal knows them.
  for (const [group, first, last] of [
    [1, 1, 50],
    [2, 51, 100],
    [3, 101, 110],
  ] as const) {
    const g = await temporal.workflow.getHandle(runGroupWorkflowId(jobId, group)).describe()
    expect(g.status.name).toBe('COMPLETED')
    const run = await temporal.workflow.getHandle(runWorkflowId(jobId, first)).describe()
    expect(run.parentExecution?.workflowId).toBe(runGroupWorkflowId(jobId, group))
    expect((await temporal.workflow.getHandle(runWorkflowId(jobId, last)).describe()).parentExecution?.workflowId).toBe(
      runGroupWorkflowId(jobId, group),
    )
  }
  await expect(temporal.workflow.getHandle(runGroupWorkflowId(jobId, 4)).describe()).rejects.toThrow()

  // Never more than 11 attempts held a slot at once: sweep their placement and end times.
  const attempts = await service.db.db
    .selectFrom('run_attempts as a')
    .innerJoin('runs as r', 'r.id', 'a.run_id')
    .select(['a.started_at', 'a.finished_at'])
    .where('r.job_id', '=', jobId)
    .execute()
  expect(attempts).toHaveLength(110)
  const edges = attempts
    .flatMap((a) => [
      { at: a.started_at!.getTime(), d: 1 },
      { at: a.finished_at!.getTime(), d: -1 },
    ])
    .sort((x, y) => x.at - y.at || x.d - y.d)
  let open = 0
  let most = 0
  for (const e of edges) most = Math.max(most, (open += e.d))
  expect(most).toBeLessThanOrEqual(11)
  expect(most).toBeGreaterThanOrEqual(6)
}, 300_000)

it('cancels a grouped job: every run ends cancelled or completed, no harness is left running', async () => {
  const jobId = await submit(60, 60, 'load/d120-r1')
  await waitForJob(
    service.api.url,
    jobId,
    (j) => j.runs.filter((r: any) => r.status === 'running').length >= 20,
    120_000,
  )
  expect((await fetch(`${service.api.url}/api/jobs/${jobId}/cancel`, { method: 'POST' })).status).toBe(202)
  const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'cancelled', 180_000)
  expect(job.runs.filter((r: any) => r.status !== 'cancelled')).toEqual([])
  for (const group of [1, 2]) {
    const g = await temporal.workflow.getHandle(runGroupWorkflowId(jobId, group)).describe()
    expect(g.status.name).toBe('CANCELLED')
  }
  // The host's runner runs no trial any more, and every trial's environment is gone.
  const runners = await eventually(
    () => runnersOf(service.config.hosts[0]!.workDir),
    (seen) => seen.every((r) => r.state.attempts === 0 && r.children.length === 0),
    { timeoutMs: 30_000, everyMs: 500 },
  )
  expect(runners.length).toBeGreaterThan(0)
  expect(runners.map((r) => [r.state.attempts, r.children])).toEqual(runners.map(() => [0, []]))
}, 300_000)
