/**
 * The trial runner at its own layer: real runner processes (real Harbor, the test environment, the
 * load tests' stand-in agent) driven through RunnerPool and their control sockets, as a worker
 * drives them, on a local host in a temp dir. No database, no Temporal.
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { harborTrialRequest, harnessEnvironment, type TrialAttemptRequest } from '../../src/harness/harbor/command.js'
import { harborRunnerSpec } from '../../src/harness/harbor/runner.js'
import { AlreadyStartedError } from '../../src/hosts/execution-host.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { findExecutable, HARNESS_PLUGINS_DIR, PROJECT_ROOT, VENV_BIN } from '../../src/paths.js'
import { askRunner, RunnerRefusal } from '../../src/runners/runner-client.js'
import { RunnerPool, type RunnerSpec } from '../../src/runners/runner-pool.js'
import { eventually } from '../helpers/eventually.js'
import { LOAD_AGENT, LOAD_AGENT_DIR, runnersOf } from '../helpers/runners.js'
import { HARBOR_ENV_PLUGIN_DIR, TEST_ENVIRONMENT } from '../helpers/service.js'

const TASK = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')
let dir: string
let host: LocalHost

/** The runner as the worker builds it, with `extraPath` first on its PYTHONPATH and `extraArgs` added. */
function spec(options: { slots?: number; maxAttempts?: number; extraPath?: string; extraArgs?: string[] } = {}) {
  const base = harborRunnerSpec({
    bin: findExecutable('harbor', null, process.env.PATH ?? '')!,
    env: harnessEnvironment({
      path: `${VENV_BIN}:/usr/local/bin:/usr/bin:/bin`,
      home: os.tmpdir(),
      pythonPath: [options.extraPath, HARNESS_PLUGINS_DIR, HARBOR_ENV_PLUGIN_DIR, LOAD_AGENT_DIR]
        .filter(Boolean)
        .join(':'),
      localCostMap: true,
      openRouterBaseUrl: null,
    }),
    pluginsDir: HARNESS_PLUGINS_DIR,
    slots: options.slots ?? 4,
    maxAttemptsPerRunner: options.maxAttempts ?? 250,
    preload: [],
    idleExitSec: 300,
  })
  const withArgs: RunnerSpec = {
    ...base,
    argv: async (h, runnerDir, id) => [...(await base.argv(h, runnerDir, id)), ...(options.extraArgs ?? [])],
  }
  return withArgs
}

/** The task staged for an attempt named `name`, and the runner's start request for it. */
async function attempt(name: string, agent = LOAD_AGENT, model = 'load/d1-r2'): Promise<TrialAttemptRequest> {
  await cp(TASK, host.resolve(`runs/${name}/task`), { recursive: true })
  return harborTrialRequest({
    procDir: host.absolute(`runs/${name}/proc`),
    taskDir: host.absolute(`runs/${name}/task`),
    jobsDir: host.absolute(`runs/${name}/jobs`),
    jobName: name,
    agent,
    model,
    environment: TEST_ENVIRONMENT,
    timeoutMultiplier: 1,
  })
}

const exitOf = (name: string) => readFile(host.resolve(`runs/${name}/proc/exit`), 'utf8').catch(() => null)
const eventsOf = (name: string) =>
  readFile(host.resolve(`runs/${name}/jobs/${name}/harbor-runner-events.jsonl`), 'utf8').catch(() => '')

async function ended(name: string, timeoutMs = 60_000): Promise<string> {
  return (await eventually(
    () => exitOf(name),
    (t) => t !== null,
    { timeoutMs, everyMs: 100 },
  ))!
}

async function readyRunner(pool: RunnerPool) {
  const reports = await eventually(
    () => pool.ensure(),
    (r) => r.some((x) => x.current && x.state),
    { timeoutMs: 60_000, everyMs: 200 },
  )
  return reports.find((x) => x.current && x.state)!.state!
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hr-runner-test-'))
  host = new LocalHost('runner-test', path.join(dir, 'work'))
  await host.prepare()
})
afterAll(async () => {
  await host?.stopAllHarnesses(10_000)
  await rm(dir, { recursive: true, force: true })
})

describe('a trial runner', () => {
  it("runs an attempt as `harbor run` would: the supervisor's record, Harbor's trial, phases and job log", async () => {
    const pool = new RunnerPool(host, spec())
    const runner = await readyRunner(pool)
    expect(runner).toMatchObject({ harbor_version: '0.26.0', attempts: 0, draining: false, warm: true })
    const request = await attempt('one')
    const id = await pool.startAttempt(request, {})
    expect((await ended('one')).split(' ')[0]).toBe('0')

    const proc = host.resolve('runs/one/proc')
    expect((await readFile(path.join(proc, 'runner'), 'utf8')).trim()).toBe(id)
    expect(Number(await readFile(path.join(proc, 'started'), 'utf8'))).toBeGreaterThan(Date.now() - 60_000)
    expect((await host.probe('runs/one/proc')).state).toBe('exited')
    const events = (await eventsOf('one'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event)
    expect(events).toEqual([
      'trial_started',
      'environment_started',
      'agent_setup_started',
      'agent_started',
      'agent_ended',
      'verification_started',
      'trial_ended',
    ])
    const jobDir = host.resolve('runs/one/jobs/one')
    const trial = (await host.list('runs/one/jobs/one')).find((e) => e.includes('__'))!
    const result = JSON.parse(await readFile(path.join(jobDir, trial, 'result.json'), 'utf8'))
    expect(result.verifier_result.rewards).toEqual({ reward: 1 })
    expect(await readFile(path.join(jobDir, 'job.log'), 'utf8')).toMatch(/Starting sandbox/)
    // The stand-in agent's lines and trajectory, where the worker follows them.
    expect(await readFile(path.join(jobDir, trial, 'agent', 'load.txt'), 'utf8')).toMatch(/^load line 1\/2 t=\d{13}$/m)
  }, 120_000)

  it('refuses a second start of the same attempt, and a request for paths outside its work dir', async () => {
    const pool = new RunnerPool(host, spec())
    await readyRunner(pool)
    const request = await attempt('twice')
    await pool.startAttempt(request, {})
    await expect(pool.startAttempt(request, {})).rejects.toBeInstanceOf(AlreadyStartedError)
    await ended('twice')

    const outside = { ...(await attempt('outside')), proc: path.join(dir, 'elsewhere', 'proc') }
    await expect(pool.startAttempt(outside, {})).rejects.toMatchObject({ code: 'bad_request' })
    expect(await stat(path.join(dir, 'elsewhere')).catch(() => null)).toBe(null)
  }, 120_000)

  it("cancels one attempt with Harbor's clean-up, and leaves the other running", async () => {
    const pool = new RunnerPool(host, spec())
    await readyRunner(pool)
    const [slow, other] = [
      await attempt('slow', LOAD_AGENT, 'load/d60-r1'),
      await attempt('other', LOAD_AGENT, 'load/d8-r1'),
    ]
    await pool.startAttempt(slow, {})
    await pool.startAttempt(other, {})
    await eventually(
      () => eventsOf('slow'),
      (t) => t.includes('agent_started'),
      { timeoutMs: 30_000 },
    )
    await pool.stopAttempt('runs/slow/proc', 'cancel')
    expect((await ended('slow', 30_000)).split(' ')[0]).toBe('130')
    expect(await eventsOf('slow')).toContain('trial_cancelled')
    const trial = (await host.list('runs/slow/jobs/slow')).find((e) => e.includes('__'))!
    const result = JSON.parse(await readFile(host.resolve(`runs/slow/jobs/slow/${trial}/result.json`), 'utf8'))
    expect(result.exception_info.exception_type).toBe('CancelledError')
    // The other one was not touched, and passes.
    expect(await exitOf('other')).toBe(null)
    expect((await ended('other')).split(' ')[0]).toBe('0')
  }, 120_000)

  it('gives up on an attempt that is killed: its record says 137 at once', async () => {
    const pool = new RunnerPool(host, spec())
    await readyRunner(pool)
    await pool.startAttempt(await attempt('killed', LOAD_AGENT, 'load/d60-r1'), {})
    await eventually(
      () => eventsOf('killed'),
      (t) => t.includes('agent_started'),
      { timeoutMs: 30_000 },
    )
    await pool.stopAttempt('runs/killed/proc', 'kill')
    expect((await exitOf('killed'))?.split(' ')[0]).toBe('137')
  }, 60_000)

  it('says full past its most attempts', async () => {
    const pool = new RunnerPool(host, spec({ slots: 1, maxAttempts: 1 }))
    const runner = await readyRunner(pool)
    await pool.startAttempt(await attempt('first', LOAD_AGENT, 'load/d5-r1'), {})
    const second = askRunner(host, runner.socket, { op: 'start', attempt: await attempt('second'), secret_env: {} })
    await expect(second).rejects.toMatchObject({ code: 'full' })
    expect(await host.fileSize('runs/second/proc')).toBe(null)
    await ended('first')
  }, 60_000)

  it('leaves its attempts lost (no exit record, lock gone) when it dies', async () => {
    const pool = new RunnerPool(host, spec({ slots: 3 }))
    const runner = await readyRunner(pool)
    await pool.startAttempt(await attempt('orphan', LOAD_AGENT, 'load/d60-r1'), {})
    await eventually(
      () => eventsOf('orphan'),
      (t) => t.includes('agent_started'),
      { timeoutMs: 30_000 },
    )
    process.kill(runner.pid, 'SIGKILL')
    const state = await eventually(
      () => host.probe('runs/orphan/proc'),
      (s) => s.state === 'lost',
      { timeoutMs: 10_000 },
    )
    expect(state.state).toBe('lost')
    // The next survey starts its successor, the next generation of its slot.
    const next = await readyRunner(pool)
    expect(next.pid).not.toBe(runner.pid)
    expect(next.id).toBe(runner.id.replace(/-(\d+)$/, (_, g) => `-${Number(g) + 1}`))
  }, 120_000)

  it('is replaced by a new build for new attempts, and finishes its own before it exits', async () => {
    const old = new RunnerPool(host, spec({ slots: 2 }))
    const oldRunner = await readyRunner(old)
    await old.startAttempt(await attempt('before-upgrade', LOAD_AGENT, 'load/d10-r1'), {})
    // Another interpreter path on PYTHONPATH: another build, as a new release would be.
    const upgraded = new RunnerPool(host, spec({ slots: 2, extraPath: path.join(dir, 'upgrade') }))
    const newRunner = await readyRunner(upgraded)
    expect(newRunner.build).not.toBe(oldRunner.build)
    const oldNow = (await runnersOf(host.workDir)).find((r) => r.id === oldRunner.id)!
    expect(oldNow.state).toMatchObject({ draining: true, attempts: 1 })
    await expect(
      askRunner(host, oldRunner.socket, { op: 'start', attempt: await attempt('refused'), secret_env: {} }),
    ).rejects.toMatchObject({ code: 'draining' })
    const after = await upgraded.startAttempt(await attempt('after-upgrade'), {})
    expect(after).toBe(newRunner.id)
    expect((await ended('before-upgrade')).split(' ')[0]).toBe('0')
    expect((await ended('after-upgrade')).split(' ')[0]).toBe('0')
    // Drained and idle: the old runner exits.
    await eventually(
      async () => (await runnersOf(host.workDir)).map((r) => r.id),
      (ids) => !ids.includes(oldRunner.id),
      { timeoutMs: 15_000, everyMs: 250 },
    )
    const exited = await eventually(
      () => host.probe(`.runners/${oldRunner.id}/proc`),
      (p) => p.state === 'exited',
      { timeoutMs: 10_000, everyMs: 100 },
    )
    expect(exited.state).toBe('exited')
  }, 120_000)

  it('drains itself when the Harbor installed under it changes', async () => {
    const shadow = path.join(dir, 'shadow')
    await mkdir(shadow, { recursive: true })
    const pool = new RunnerPool(host, spec({ slots: 5, extraPath: shadow, extraArgs: ['--harbor-check-sec', '1'] }))
    const runner = await readyRunner(pool)
    // A newer Harbor's metadata, first on the runner's path: what `pip install -U harbor` leaves.
    await mkdir(path.join(shadow, 'harbor-9.9.9.dist-info'))
    await writeFile(
      path.join(shadow, 'harbor-9.9.9.dist-info', 'METADATA'),
      'Metadata-Version: 2.1\nName: harbor\nVersion: 9.9.9\n',
    )
    const seen = await eventually(
      () => runnersOf(host.workDir),
      (rs) => rs.find((r) => r.id === runner.id)?.state.stale != null || !rs.some((r) => r.id === runner.id),
      { timeoutMs: 15_000, everyMs: 250 },
    )
    const stale = seen.find((r) => r.id === runner.id)
    if (stale) expect(stale.state).toMatchObject({ draining: true, stale: expect.stringContaining('9.9.9') })
    // It had nothing to finish: it exits, and the pool starts a fresh one for the slot.
    const next = await readyRunner(pool)
    expect(next.id).not.toBe(runner.id)
    expect(next.harbor_version).toBe('9.9.9')
  }, 120_000)

  it('stops when its directory is removed', async () => {
    const pool = new RunnerPool(host, spec({ slots: 7 }))
    const runner = await readyRunner(pool)
    await rm(host.resolve(`.runners/${runner.id}`), { recursive: true, force: true })
    await eventually(
      async () => {
        try {
          process.kill(runner.pid, 0)
          return true
        } catch {
          return false
        }
      },
      (alive) => !alive,
      { timeoutMs: 15_000, everyMs: 250 },
    )
  }, 60_000)

  it('answers a malformed request with bad_request and keeps serving', async () => {
    const pool = new RunnerPool(host, spec())
    const runner = await readyRunner(pool)
    await expect(askRunner(host, runner.socket, { op: 'nonsense' } as never)).rejects.toBeInstanceOf(RunnerRefusal)
    const start = { op: 'start', attempt: { proc: 1 }, secret_env: {} } as never
    await expect(askRunner(host, runner.socket, start)).rejects.toMatchObject({ code: 'bad_request' })
    expect(await askRunner(host, runner.socket, { op: 'state' })).toMatchObject({ ok: true, id: runner.id })
  }, 60_000)
})
