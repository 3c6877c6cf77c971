/**
 * Benchmark (not a test): what the harness costs per attempt, cold and warm.
 *
 *   npm run bench:harness -- [--attempts 100,600] [--duration 60] [--repeat 3] [--fork 100]
 *
 * 1. Cold: `harbor run` of one oracle trial in the test environment, as a process per attempt
 *    starts it (telemetry off, our phase plugin), `--repeat` times: wall time, CPU seconds and peak
 *    resident memory of its process tree.
 * 2. Warm: one trial runner, started as a worker starts it (RunnerPool, the real command line,
 *    terminus-2 preloaded as by default), then for each K of `--attempts`, K attempts of the load
 *    tests' stand-in agent (a real Harbor agent that sleeps `--duration` s) started at once through
 *    its control socket. Once every agent runs: the runner's own CPU seconds per attempt since the
 *    first start, and its resident memory added per concurrent attempt. The trials' environments
 *    (the test sandbox's processes, standing in for containers) are measured apart.
 * 3. The design not taken: `--fork` children of a pre-imported Harbor, each running one trial
 *    (scripts/harness-bench/fork_probe.py): the unique memory each costs.
 */
import { execa } from 'execa'
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { harborTrialRequest, harnessEnvironment, PHASE_EVENTS_FILE } from '../src/harness/harbor/command.js'
import { harborRunnerSpec } from '../src/harness/harbor/runner.js'
import { AlreadyStartedError } from '../src/hosts/execution-host.js'
import { LocalHost } from '../src/hosts/local-host.js'
import { findExecutable, HARNESS_PLUGINS_DIR, PROJECT_ROOT, VENV_BIN } from '../src/paths.js'
import { RunnerPool, type LiveRunner } from '../src/runners/runner-pool.js'
import { cpuOf, descendantsOf, residentMiB, sumOver } from './lib/proc.js'

const { values } = parseArgs({
  options: {
    attempts: { type: 'string', default: '100,600' },
    duration: { type: 'string', default: '60' },
    repeat: { type: 'string', default: '3' },
    fork: { type: 'string', default: '100' },
  },
})
const SIZES = values.attempts.split(',').map(Number)
const DURATION = Number(values.duration)
const REPEAT = Number(values.repeat)
const FORKS = Number(values.fork)
const TASK = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')
const TEST_ENV = 'harbor_runner_testenv:LocalSandboxEnvironment'
const PYTHONPATH = [
  HARNESS_PLUGINS_DIR,
  path.join(PROJECT_ROOT, 'test', 'harbor-env'),
  path.join(PROJECT_ROOT, 'test', 'load'),
].join(':')
const ENV = harnessEnvironment({
  path: `${VENV_BIN}:/usr/local/bin:/usr/bin:/bin`,
  home: os.tmpdir(),
  pythonPath: PYTHONPATH,
  localCostMap: true,
  openRouterBaseUrl: null,
})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!

/** `harbor run` of one oracle trial, as the service ran each attempt before it had runners. */
async function coldRun(dir: string, name: string) {
  const harbor = findExecutable('harbor', null, process.env.PATH ?? '')!
  const argv = [harbor, 'run', '--path', TASK, '--agent', 'oracle', '--n-attempts', '1', '--n-concurrent', '1']
  argv.push('--jobs-dir', path.join(dir, 'cold'), '--job-name', name, '--env', TEST_ENV)
  argv.push('--plugin', 'harbor_runner_hooks:PhaseEvents', '--yes', '--quiet')
  // The process tree's wall time, CPU and peak memory, as its parent sees them once it has waited.
  const measure =
    'import resource, subprocess, sys, time; t = time.time(); subprocess.run(sys.argv[1:], check=True); ' +
    'r = resource.getrusage(resource.RUSAGE_CHILDREN); print(time.time() - t, r.ru_utime + r.ru_stime, r.ru_maxrss)'
  const { stdout } = await execa(path.join(VENV_BIN, 'python'), ['-c', measure, ...argv], {
    env: ENV,
    extendEnv: false,
  })
  const [wall, cpu, maxKiB] = stdout.trim().split('\n').at(-1)!.split(' ').map(Number)
  return { wall: wall!, cpu: cpu!, peakMiB: maxKiB! / 1024 }
}

async function waitForRunner(pool: RunnerPool): Promise<LiveRunner> {
  for (let i = 0; i < 600; i++) {
    const ready = (await pool.ensure()).find((r) => r.current && r.state?.warm)
    if (ready?.state) return ready.state
    await sleep(250)
  }
  throw new Error('the runner did not come up')
}

/** K attempts started at once; measured once every agent runs. */
async function warmBatch(host: LocalHost, pool: RunnerPool, runner: LiveRunner, k: number) {
  const dirs = Array.from({ length: k }, (_, i) => `runs/k${k}/a${i}`)
  await Promise.all(dirs.map((d) => cp(TASK, host.resolve(`${d}/task`), { recursive: true })))
  const requests = dirs.map((d, i) =>
    harborTrialRequest({
      procDir: host.absolute(`${d}/proc`),
      taskDir: host.absolute(`${d}/task`),
      jobsDir: host.absolute(`${d}/jobs`),
      jobName: `k${k}-${i}`,
      agent: 'harbor_load_agent:SleepingAgent',
      model: `load/d${DURATION}-r1`,
      environment: TEST_ENV,
      timeoutMultiplier: 1,
    }),
  )
  const envPids = async () => descendantsOf(runner.pid)
  const envCpu = async () =>
    (await cpuOf(runner.pid)).reaped + (await sumOver(await envPids(), async (p) => (await cpuOf(p)).self))
  const idleRss = await residentMiB(runner.pid)
  const cpu0 = await cpuOf(runner.pid)
  const env0 = await envCpu()
  const t0 = Date.now()
  // (A start whose answer was lost is found started when retried, as the harness activity finds it.)
  await Promise.all(requests.map((r) => pool.startAttempt(r, {}).catch(startedBefore)))
  const started = (r: (typeof requests)[number]) =>
    readFile(path.join(r.jobs_dir, r.job_name, PHASE_EVENTS_FILE), 'utf8').then(
      (t) => t.includes('"agent_started"'),
      () => false,
    )
  while (!(await Promise.all(requests.map(started))).every(Boolean)) await sleep(100)
  const wall = (Date.now() - t0) / 1000
  const cpu1 = await cpuOf(runner.pid)
  const rss = await residentMiB(runner.pid)
  const pids = await envPids()
  const result = {
    k,
    wall,
    startCpuPerAttempt: (cpu1.self - cpu0.self) / k,
    addedMiBPerAttempt: (rss - idleRss) / k,
    runnerMiB: rss,
    envCpuPerAttempt: ((await envCpu()) - env0) / k,
    envMiBPerAttempt: (await sumOver(pids, residentMiB)) / k,
    envProcesses: pids.length,
  }
  // Every attempt ends by itself after its agent's duration.
  const exited = (r: (typeof requests)[number]) => host.fileSize(`${r.proc.slice(host.workDir.length + 1)}/exit`)
  while ((await Promise.all(requests.map(exited))).some((s) => s === null)) await sleep(500)
  const codes = await Promise.all(requests.map((r) => readFile(path.join(r.proc, 'exit'), 'utf8')))
  const failed = codes.filter((c) => !c.startsWith('0 ')).length
  if (failed > 0) process.stderr.write(`  ${failed} of ${k} attempts did not exit 0\n`)
  await rm(host.resolve(`runs/k${k}`), { recursive: true, force: true })
  return result
}

function startedBefore(err: unknown): void {
  if (!(err instanceof AlreadyStartedError)) throw err
}

async function forkProbe(dir: string, k: number) {
  const { stdout } = await execa(
    path.join(VENV_BIN, 'python'),
    [path.join(PROJECT_ROOT, 'scripts', 'harness-bench', 'fork_probe.py'), String(k), TASK, path.join(dir, 'fork')],
    { env: ENV, extendEnv: false },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hr-bench-harness-'))
  const workDir = path.join(dir, 'work')
  await mkdir(workDir)
  const host = new LocalHost('bench', workDir)
  const most = Math.max(...SIZES)
  const spec = harborRunnerSpec({
    bin: findExecutable('harbor', null, process.env.PATH ?? '')!,
    env: ENV,
    pluginsDir: HARNESS_PLUGINS_DIR,
    slots: most,
    maxAttemptsPerRunner: most,
    preload: ['terminus-2'],
    idleExitSec: 600,
  })
  const pool = new RunnerPool(host, spec)
  const rows: [string, string][] = []
  try {
    const cold = []
    for (let i = 0; i < REPEAT; i++) cold.push(await coldRun(dir, `cold-${i}`))
    rows.push(
      [
        `cold: \`harbor run\`, one oracle trial, wall (median of ${REPEAT})`,
        `${median(cold.map((c) => c.wall)).toFixed(2)} s`,
      ],
      ['cold: CPU of its process tree (environment included)', `${median(cold.map((c) => c.cpu)).toFixed(2)} s`],
      ['cold: peak resident memory', `${median(cold.map((c) => c.peakMiB)).toFixed(0)} MiB`],
    )
    const t0 = Date.now()
    const runner = await waitForRunner(pool)
    rows.push(
      ['warm: runner start until warm (Harbor and terminus-2 imported)', `${((Date.now() - t0) / 1000).toFixed(1)} s`],
      ['warm: runner resident memory, idle and warm', `${(await residentMiB(runner.pid)).toFixed(0)} MiB`],
    )
    for (const k of SIZES) {
      const b = await warmBatch(host, pool, runner, k)
      rows.push(
        [`warm, ${k} at once: every agent running after`, `${b.wall.toFixed(1)} s`],
        [`warm, ${k} at once: runner CPU per attempt to start`, `${b.startCpuPerAttempt.toFixed(3)} s`],
        [`warm, ${k} at once: runner memory added per attempt`, `${b.addedMiBPerAttempt.toFixed(2)} MiB`],
        [`warm, ${k} at once: runner resident memory`, `${b.runnerMiB.toFixed(0)} MiB`],
        [`  environments (test sandbox): CPU per attempt to start`, `${b.envCpuPerAttempt.toFixed(3)} s`],
        [`  environments: memory per attempt (${b.envProcesses} processes)`, `${b.envMiBPerAttempt.toFixed(2)} MiB`],
      )
    }
    if (FORKS > 0) {
      const f = await forkProbe(dir, FORKS)
      rows.push(
        ['fork server (not built): parent resident memory', `${f.parent_resident_mib!.toFixed(0)} MiB`],
        [`fork server: unique memory per child, ${FORKS} at once`, `${f.child_unique_mib_mean!.toFixed(1)} MiB`],
      )
    }
  } finally {
    await execa('pkill', ['-f', dir], { reject: false })
    await rm(dir, { recursive: true, force: true, maxRetries: 5 })
  }
  const w = Math.max(...rows.map((r) => r[0].length))
  process.stdout.write(
    [
      '',
      `harness cost per attempt, ${os.cpus().length} CPUs (${new Date().toISOString().slice(0, 10)})`,
      '',
      `| ${'measure'.padEnd(w)} | value |`,
      `|${'-'.repeat(w + 2)}|------:|`,
      ...rows.map(([a, b]) => `| ${a.padEnd(w)} | ${b} |`),
      '',
    ].join('\n'),
  )
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`)
  process.exit(1)
})
