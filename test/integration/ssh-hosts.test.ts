/**
 * Remote execution hosts over SSH, against real sshd servers on loopback (test/helpers/ssh-hosts.ts)
 * and real rsync, running the real `harbor` CLI on them (through the test-only environment):
 * placement by free slots, a worker killed mid-run, an SSH outage mid-run, cancel, a host down from
 * the start, the sweep, and `doctor`.
 */
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT, VENV_BIN } from '../../src/paths.js'
import { getJson, readSse, upload, waitForJob } from '../helpers/api-client.js'
import { freePort } from '../helpers/ports.js'
import { startTestService, HARBOR_ENV_PLUGIN_DIR, type TestService } from '../helpers/service.js'
import { sshArgs, sshTarget, startSshServers, type SshServers, type SshTestHost } from '../helpers/ssh-hosts.js'
import { slowTask, zipDirectory } from '../helpers/task-zips.js'

let servers: SshServers
let service: TestService

function hostEntry(h: SshTestHost, slots: number) {
  return {
    id: h.id,
    ssh: `${h.user}@127.0.0.1:${h.port}`,
    key_file: h.keyFile,
    work_dir: h.workDir,
    slots,
    harbor_bin: path.join(VENV_BIN, 'harbor'),
    python_path: HARBOR_ENV_PLUGIN_DIR,
  }
}

/** Env of a service whose hosts are the given SSH servers (and, optionally, one that never answers). */
async function sshEnv(hosts: SshTestHost[], slots: number, extra: object[] = []) {
  return {
    HOSTS: JSON.stringify([...hosts.map((h) => hostEntry(h, slots)), ...extra]),
    SSH_KNOWN_HOSTS: hosts[0]!.knownHostsFile,
    SSH_STRICT_HOST_KEYS: 'true',
  }
}

async function remoteTest(h: SshTestHost, script: string): Promise<boolean> {
  const r = await execa('ssh', [...sshArgs(h), sshTarget(h), script], { reject: false })
  return r.exitCode === 0
}

const hello = () => zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle' }

beforeAll(async () => {
  // Both as root: the project's Python lives under /root/.pyenv here, out of other users' reach.
  servers = await startSshServers([{ id: 'alpha' }, { id: 'beta' }])
})
afterAll(async () => {
  await servers?.stop()
})

describe('two SSH hosts with 2 slots each', () => {
  beforeAll(async () => {
    service = await startTestService({ env: await sshEnv(servers.hosts, 2) })
  })
  afterAll(() => service?.stop())

  it('spreads 6 runs over both, never more than 2 at once on a host, all passed', async () => {
    const res = await upload(service.api.url, {
      file: await hello(),
      filename: 'hello-pass.zip',
      fields: { ...FIELDS, n_runs: '6' },
    })
    expect(res.status).toBe(201)
    const job = await waitForJob(service.api.url, res.body.job_id, (j) => j.status === 'completed', 240_000)
    expect(job.runs.map((r: any) => [r.outcome, r.error_message])).toEqual(Array(6).fill(['passed', null]))

    const attempts = await service.db.db
      .selectFrom('run_attempts')
      .select(['host', 'started_at', 'finished_at'])
      .execute()
    const byHost = new Map<string, typeof attempts>()
    for (const a of attempts) byHost.set(a.host, [...(byHost.get(a.host) ?? []), a])
    expect([...byHost.keys()].sort()).toEqual(['alpha', 'beta'])
    for (const list of byHost.values()) {
      // The most attempts that held a slot on this host at one moment.
      const edges = list.flatMap((a) => [
        [a.started_at.getTime(), 1],
        [a.finished_at!.getTime(), -1],
      ]) as [number, number][]
      edges.sort((x, y) => x[0] - y[0] || x[1] - y[1])
      let now = 0
      let most = 0
      for (const [, d] of edges) most = Math.max(most, (now += d))
      expect(most).toBeLessThanOrEqual(2)
    }
    // Nothing of the runs is left on the hosts.
    for (const h of servers.hosts) expect(await remoteTest(h, `test ! -e ${h.workDir}/runs/${job.job_id}`)).toBe(true)
    const hosts = (await getJson(service.api.url, '/api/hosts')).body.hosts
    expect(hosts.map((h: any) => [h.id, h.slots, h.available, h.busy])).toEqual([
      ['alpha', 2, true, 0],
      ['beta', 2, true, 0],
    ])
  }, 300_000)

  it('finishes a run through an SSH outage of 30 s', async () => {
    const res = await upload(service.api.url, {
      file: await slowTask(40),
      filename: 'slow.zip',
      fields: { ...FIELDS, n_runs: '1' },
    })
    const stream = `${service.api.url}/api/jobs/${res.body.job_id}/runs/1/logs/stream`
    await readSse(stream, { stopWhen: (e) => e.event === 'log' && e.data.line === 'slow step 3/40' })
    const run = (await getJson(service.api.url, `/api/jobs/${res.body.job_id}/runs/1`)).body
    await servers.pause(run.host)
    await new Promise((r) => setTimeout(r, 30_000))
    await servers.resume(run.host)
    const job = await waitForJob(service.api.url, res.body.job_id, (j) => j.status === 'completed', 180_000)
    expect(job.runs[0]).toMatchObject({ outcome: 'passed', attempts: 1, host: run.host })
    const steps = (await readSse(stream)).events.filter((e) => e.event === 'log' && /^slow step/.test(e.data.line))
    expect(steps.map((e) => e.data.line)).toEqual(Array.from({ length: 40 }, (_, i) => `slow step ${i + 1}/40`))
  }, 300_000)

  it('cancels a job mid-run: the harness stops with its own clean-up, files removed, runs and job cancelled', async () => {
    const res = await upload(service.api.url, {
      file: await slowTask(60),
      filename: 'slow.zip',
      fields: { ...FIELDS, n_runs: '2' },
    })
    const jobId = res.body.job_id
    const stream = `${service.api.url}/api/jobs/${jobId}/runs/1/logs/stream`
    await readSse(stream, { stopWhen: (e) => e.event === 'log' && e.data.line === 'slow step 2/60' })
    const host = servers.host((await getJson(service.api.url, `/api/jobs/${jobId}/runs/1`)).body.host)

    const cancel = await fetch(`${service.api.url}/api/jobs/${jobId}/cancel`, { method: 'POST' })
    expect(cancel.status).toBe(202)
    const job = await waitForJob(service.api.url, jobId, (j) => j.status === 'cancelled', 180_000)
    expect(job.runs.map((r: any) => r.status)).toEqual(['cancelled', 'cancelled'])
    expect(job.metrics.counts.cancelled).toBe(2)

    const events = (await readSse(stream)).events
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'cancelled' } })
    const lines = events.filter((e) => e.event === 'log').map((e) => e.data.line)
    expect(lines).toContain('cancelled: stopping the harness')
    // Harbor's own clean-up ran: it recorded the trial as cancelled before it exited.
    expect(events.some((e) => e.event === 'phase' && e.data.event === 'trial_cancelled')).toBe(true)
    expect(lines.filter((l) => /^slow step/.test(l)).length).toBeLessThan(60)
    expect(await remoteTest(host, `test ! -e ${host.workDir}/runs/${jobId}`)).toBe(true)

    const again = await fetch(`${service.api.url}/api/jobs/${jobId}/cancel`, { method: 'POST' })
    expect(again.status).toBe(409)
    expect(((await again.json()) as any).error.code).toBe('job_finished')
  }, 300_000)
})

describe('a worker killed mid-run on an SSH host', () => {
  let crashService: TestService
  beforeAll(async () => {
    crashService = await startTestService({ worker: false, env: await sshEnv([servers.host('alpha')], 2) })
  })
  afterAll(() => crashService?.stop())

  it('re-attaches: the run finishes once, one harness was started, its log has no gap and no duplicate', async () => {
    const first = crashService.spawnWorker()
    const res = await upload(crashService.api.url, {
      file: await slowTask(30),
      filename: 'slow.zip',
      fields: { ...FIELDS, n_runs: '1' },
    })
    const stream = `${crashService.api.url}/api/jobs/${res.body.job_id}/runs/1/logs/stream`
    await readSse(stream, {
      stopWhen: (e) => e.event === 'log' && e.data.line === 'slow step 3/30',
      timeoutMs: 120_000,
    })
    first.kill('SIGKILL')
    await first
    const second = crashService.spawnWorker()
    const job = await waitForJob(crashService.api.url, res.body.job_id, (j) => j.status === 'completed', 180_000)
    expect(job.runs[0]).toMatchObject({ outcome: 'passed', attempts: 1, host: 'alpha' })

    const { events } = await readSse(stream)
    const ids = events.filter((e) => e.id !== null).map((e) => Number(e.id))
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
    const logs = events.filter((e) => e.event === 'log')
    expect(
      logs.filter((e) => e.data.stream === 'agent' && /^slow step/.test(e.data.line)).map((e) => e.data.line),
    ).toEqual(Array.from({ length: 30 }, (_, i) => `slow step ${i + 1}/30`))
    expect(logs.filter((e) => e.data.stream === 'runner' && e.data.line.startsWith('starting on alpha'))).toHaveLength(
      1,
    )
    expect(logs.filter((e) => e.data.stream === 'runner' && e.data.line.startsWith('re-attached'))).toHaveLength(1)
    second.kill('SIGTERM')
    await second
  }, 300_000)
})

describe('a host that is down from the start', () => {
  let downService: TestService
  let deadPort: number
  beforeAll(async () => {
    deadPort = await freePort()
    const dead = {
      ...hostEntry(servers.host('beta'), 2),
      id: 'gamma',
      ssh: `root@127.0.0.1:${deadPort}`,
      work_dir: '/tmp/hr-gamma',
    }
    downService = await startTestService({ env: await sshEnv([servers.host('alpha')], 2, [dead]) })
  })
  afterAll(() => downService?.stop())

  it('gets no runs: they all go to the other host', async () => {
    const hosts = (await getJson(downService.api.url, '/api/hosts')).body.hosts
    expect(hosts.find((h: any) => h.id === 'gamma')).toMatchObject({ available: false, healthy: false })
    expect(hosts.find((h: any) => h.id === 'gamma').problem).toMatch(/ECONNREFUSED|refused/i)
    const res = await upload(downService.api.url, {
      file: await hello(),
      filename: 'hello-pass.zip',
      fields: { ...FIELDS, n_runs: '3' },
    })
    const job = await waitForJob(downService.api.url, res.body.job_id, (j) => j.status === 'completed', 240_000)
    expect(job.runs.map((r: any) => [r.outcome, r.host])).toEqual(Array(3).fill(['passed', 'alpha']))
  }, 300_000)

  it('doctor: ok for a good host with its runner, the reason for an unreachable one, exit 1', async () => {
    const result = await execa(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'doctor.ts'), '--json'],
      {
        cwd: PROJECT_ROOT,
        env: downService.env,
        extendEnv: false,
        reject: false,
      },
    )
    expect(result.exitCode).toBe(1)
    const reports = JSON.parse(result.stdout)
    const alpha = reports.find((r: any) => r.id === 'alpha')
    expect(alpha).toMatchObject({
      reachable: true,
      workDirWritable: true,
      harnesses: expect.objectContaining({ harbor: '0.26.0' }),
      slots: 2,
      problems: [],
    })
    expect(alpha.freeDiskBytes).toBeGreaterThan(0)
    // The warm Harbor: a runner can start there, and the one the worker started runs, warm and idle.
    expect(alpha.runners.canStart).toMatchObject({ harbor: '0.26.0' })
    expect(alpha.runners.running).toEqual([
      expect.objectContaining({ current: true, harbor: '0.26.0', warm: true, attempts: 0, maxAttempts: 2 }),
    ])
    const gamma = reports.find((r: any) => r.id === 'gamma')
    expect(gamma).toMatchObject({ reachable: false })
    expect(gamma.problems.join(' ')).toMatch(/ECONNREFUSED|refused/i)
  }, 120_000)
})
