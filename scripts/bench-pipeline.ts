/**
 * Benchmark (not a test): the orchestration's own cost around the real harness.
 *
 *   npm run bench -- [--runs 20] [--slots 4] [--probes 5] [--host local|ssh]
 *
 * Starts the whole service in this process on throwaway embedded PostgreSQL and Temporal dev server,
 * with one execution host running the real `harbor` CLI through the test-only environment plugin (no
 * Docker here): the local machine, or (`--host ssh`) this machine again reached over SSH through a
 * throwaway sshd on loopback, as a remote host would be. Then it measures with the oracle agent on
 * test/fixtures/tasks/hello-pass:
 *   1. upload → first log line, on an idle service (`--probes` single-run jobs, one after another);
 *   2. a job of `--runs` runs at `--slots` slots (max_parallel = slots, so no run waits for a slot):
 *      per-run orchestration overhead = run wall time − the harness process's own wall time;
 *   3. the same runs by one plain `harbor run -k <runs> -n <slots>` (local host only), and our
 *      makespan over Harbor's own wall time as a ratio.
 * Prints median and p95 of each.
 */
import { execa } from 'execa'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { loadConfig } from '../src/config.js'
import { createDb } from '../src/db/database.js'
import { createLogger } from '../src/logger.js'
import { PROJECT_ROOT, VENV_BIN, findExecutable } from '../src/paths.js'
import { provideInfrastructure } from '../src/runtime/infrastructure.js'
import { startApiRuntime } from '../src/runtime/api-runtime.js'
import { installTemporalRuntime } from '../src/runtime/process.js'
import { createWorkerRuntime } from '../src/runtime/worker-runtime.js'
import { readSse, upload, waitForJob } from '../test/helpers/api-client.js'
import { freePort } from '../test/helpers/ports.js'
import { startSshServers } from '../test/helpers/ssh-hosts.js'
import { zipDirectory } from '../test/helpers/task-zips.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    slots: { type: 'string', default: '4' },
    probes: { type: 'string', default: '5' },
    host: { type: 'string', default: 'local' },
  },
})
if (values.host !== 'local' && values.host !== 'ssh') throw new Error('--host is local or ssh')
const RUNS = Number(values.runs)
const SLOTS = Number(values.slots)
const PROBES = Number(values.probes)

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}
function summary(values: number[]) {
  const s = [...values].sort((a, b) => a - b)
  return { n: s.length, median: quantile(s, 0.5), p95: quantile(s, 0.95), min: s[0]!, max: s.at(-1)! }
}
const ms = (v: number) => `${v.toFixed(0)} ms`

async function main() {
  if (!findExecutable('harbor', null, process.env.PATH ?? ''))
    throw new Error('harbor is not installed: run `npm run setup` first')
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hr-bench-'))
  const ssh = values.host === 'ssh' ? await startSshServers([{ id: 'remote' }]) : null
  const sshHost = ssh?.hosts[0]
  const hostEnv = sshHost
    ? {
        HOSTS: JSON.stringify([
          {
            id: 'remote',
            ssh: `${sshHost.user}@127.0.0.1:${sshHost.port}`,
            key_file: sshHost.keyFile,
            work_dir: sshHost.workDir,
            slots: SLOTS,
            harbor_bin: path.join(VENV_BIN, 'harbor'),
            python_path: path.join(PROJECT_ROOT, 'test', 'harbor-env'),
          },
        ]),
        SSH_KNOWN_HOSTS: sshHost.knownHostsFile,
        SSH_STRICT_HOST_KEYS: 'true',
      }
    : {}
  const config = loadConfig({
    ...hostEnv,
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    API_PORT: String(await freePort()),
    HOST_SLOTS: String(SLOTS),
    HARNESS_PYTHONPATH: path.join(PROJECT_ROOT, 'test', 'harbor-env'),
    DEFAULT_ENVIRONMENT: 'harbor_runner_testenv:LocalSandboxEnvironment',
    LOG_LEVEL: 'warn',
  })
  const logger = createLogger('warn', { component: 'bench' })
  installTemporalRuntime()
  const infra = await provideInfrastructure(config, logger, { embedded: true })
  const worker = await createWorkerRuntime({ config, logger, ...infra })
  const workerDone = worker.run()
  const api = await startApiRuntime({ config, logger, ...infra })
  const dbh = createDb(infra.databaseUrl)
  const zip = await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
  const fields = {
    model: 'openai/gpt-4o',
    agent: 'oracle',
    openrouter_key: `sk-bench-${randomBytes(8).toString('hex')}`,
  }

  try {
    // 1. Upload → first log line on an idle service. The first upload after start is not counted:
    // it waits for the task checker to import the harnesses (about 3.5 s, once per API process).
    const toFirstLine: number[] = []
    const toFirstHarnessLine: number[] = []
    for (let i = -1; i < PROBES; i++) {
      const t0 = performance.now()
      const res = await upload(api.url, { file: zip, filename: 'hello-pass.zip', fields: { ...fields, n_runs: '1' } })
      if (res.status !== 201) throw new Error(`upload failed: ${JSON.stringify(res.body)}`)
      let firstAny: number | null = null
      await readSse(`${api.url}/api/jobs/${res.body.job_id}/runs/1/logs/stream`, {
        stopWhen: (e) => {
          if (e.event !== 'log') return false
          firstAny ??= performance.now() - t0
          if (e.data.stream === 'runner') return false
          toFirstHarnessLine.push(performance.now() - t0)
          return true
        },
      })
      if (i < 0) toFirstHarnessLine.pop()
      else toFirstLine.push(firstAny!)
      await waitForJob(api.url, res.body.job_id, (j) => j.status === 'completed')
    }

    // 2. RUNS runs at SLOTS slots.
    const t0 = performance.now()
    const res = await upload(api.url, {
      file: zip,
      filename: 'hello-pass.zip',
      fields: { ...fields, n_runs: String(RUNS), max_parallel: String(SLOTS) },
    })
    const job = await waitForJob(api.url, res.body.job_id, (j) => j.status === 'completed', 30 * 60_000)
    const makespan = performance.now() - t0
    const rows = await dbh.db
      .selectFrom('runs')
      .innerJoin('run_attempts', 'run_attempts.run_id', 'runs.id')
      .select([
        'runs.started_at',
        'runs.finished_at',
        'run_attempts.harness_started_at',
        'run_attempts.harness_finished_at',
        'runs.outcome',
      ])
      .where('runs.job_id', '=', res.body.job_id)
      .execute()
    const runWall = rows.map((r) => r.finished_at!.getTime() - r.started_at!.getTime())
    const harnessWall = rows.map((r) => r.harness_finished_at!.getTime() - r.harness_started_at!.getTime())
    const overhead = rows.map((_, i) => runWall[i]! - harnessWall[i]!)
    const passed = rows.filter((r) => r.outcome === 'passed').length

    // Where the overhead goes: the time between the run's status changes and the harness's own span.
    const statusLines = await dbh.db
      .selectFrom('run_log_lines')
      .innerJoin('runs', 'runs.id', 'run_log_lines.run_id')
      .innerJoin('run_attempts', 'run_attempts.run_id', 'runs.id')
      .select([
        'runs.id',
        'run_log_lines.line',
        'run_log_lines.created_at',
        'run_attempts.harness_started_at',
        'run_attempts.harness_finished_at',
      ])
      .where('runs.job_id', '=', res.body.job_id)
      .where('run_log_lines.stream', '=', 'status')
      .execute()
    const byRun = new Map<string, Record<string, number>>()
    for (const l of statusLines) {
      const marks = byRun.get(l.id) ?? {
        harness_start: l.harness_started_at!.getTime(),
        harness_end: l.harness_finished_at!.getTime(),
      }
      marks[l.line.split(':')[0]!] = l.created_at.getTime()
      byRun.set(l.id, marks)
    }
    const segment = (from: string, to: string) => [...byRun.values()].map((m) => m[to]! - m[from]!)
    const breakdown: [string, ReturnType<typeof summary>][] = [
      ['  staging → running (stage task)', summary(segment('staging', 'running'))],
      ['  running → harness process started', summary(segment('running', 'harness_start'))],
      ['  harness process ended → collecting', summary(segment('harness_end', 'collecting'))],
      ['  collecting → completed (collect, record)', summary(segment('collecting', 'completed'))],
    ]

    const table: [string, ReturnType<typeof summary>][] = [
      ['upload → first log line (idle)', summary(toFirstLine)],
      ['upload → first harness output line (idle)', summary(toFirstHarnessLine)],
      ['run wall time', summary(runWall)],
      ['harness process wall time', summary(harnessWall)],
      ['orchestration overhead per run', summary(overhead)],
      ...breakdown,
    ]
    // 3. The same runs by Harbor alone: one process, its own concurrency.
    let plain: { wallMs: number; passed: number } | null = null
    if (values.host !== 'ssh') {
      const jobsDir = path.join(dataDir, 'plain-harbor')
      const t1 = performance.now()
      const harbor = await execa(
        path.join(VENV_BIN, 'harbor'),
        [
          'run',
          '--path',
          path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'),
          '--agent',
          'oracle',
          '--n-attempts',
          String(RUNS),
          '--n-concurrent',
          String(SLOTS),
          '--jobs-dir',
          jobsDir,
          '--job-name',
          'plain',
          '--env',
          'harbor_runner_testenv:LocalSandboxEnvironment',
          '--yes',
          '--quiet',
        ],
        {
          env: { PYTHONPATH: path.join(PROJECT_ROOT, 'test', 'harbor-env') },
          reject: false,
        },
      )
      const wallMs = performance.now() - t1
      const result = JSON.parse(await readFile(path.join(jobsDir, 'plain', 'result.json'), 'utf8').catch(() => '{}'))
      if (harbor.exitCode !== 0) process.stderr.write(`plain harbor exited ${harbor.exitCode}: ${harbor.stderr}\n`)
      plain = { wallMs, passed: countPassed(result) }
    }

    const out = [
      '',
      `harbor-runner pipeline benchmark: ${RUNS} oracle runs of hello-pass at ${SLOTS} slots on the ${values.host === 'ssh' ? 'SSH' : 'local'} host, ${os.cpus().length} CPUs`,
      `job ${job.status}: ${passed}/${RUNS} passed, makespan ${(makespan / 1000).toFixed(1)} s`,
      ...(plain
        ? [
            `plain \`harbor run -k ${RUNS} -n ${SLOTS}\`: ${plain.passed}/${RUNS} passed in ${(plain.wallMs / 1000).toFixed(1)} s; ` +
              `our makespan / Harbor's = ${(makespan / plain.wallMs).toFixed(3)}`,
          ]
        : []),
      '',
      `${'measure'.padEnd(44)} ${'n'.padStart(3)} ${'median'.padStart(9)} ${'p95'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)}`,
      ...table.map(
        ([name, s]) =>
          `${name.padEnd(44)} ${String(s.n).padStart(3)} ${ms(s.median).padStart(9)} ${ms(s.p95).padStart(9)} ${ms(s.min).padStart(9)} ${ms(s.max).padStart(9)}`,
      ),
      '',
    ]
    process.stdout.write(out.join('\n') + '\n')
  } finally {
    await dbh.close()
    await api.close()
    await worker.shutdown()
    await workerDone
    await infra.stop()
    await ssh?.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Trials with reward 1 in a Harbor job's result.json (its stats, per agent and dataset). */
function countPassed(result: unknown): number {
  const evals = (
    result as { stats?: { evals?: Record<string, { reward_stats?: { reward?: Record<string, string[]> } }> } }
  ).stats?.evals
  let n = 0
  for (const e of Object.values(evals ?? {})) n += e.reward_stats?.reward?.['1.0']?.length ?? 0
  return n
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`)
  process.exit(1)
})
