/**
 * Benchmark (not a test): the same oracle runs through the service and through plain `harbor run`,
 * side by side on the same task and environment.
 *
 *   npm run bench:vs-harbor -- [--sizes 10x10,40x20] [--repeat 3]
 *
 * Starts the whole service first (API and one worker as processes, embedded PostgreSQL and Temporal
 * dev server, the test environment since there is no Docker here) and lets one run go through it,
 * so that what is timed is a service already running. Then for each N×C, `--repeat` times in
 * alternating order: `harbor run -k N -n C` of the oracle on hello-pass (telemetry off, as the
 * service sets it), timed from its start to its exit; and an upload of the same task with
 * n_runs=N, max_parallel=C, timed from the upload to the job's end as a client sees it (its job
 * events stream). Prints the medians and their ratio (service / harbor run).
 */
import { execa } from 'execa'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { harnessEnvironment } from '../src/harness/harbor/command.js'
import { findExecutable, HARNESS_PLUGINS_DIR, PROJECT_ROOT, VENV_BIN } from '../src/paths.js'
import { readSse } from '../test/helpers/api-client.js'
import { zipDirectory } from '../test/helpers/task-zips.js'
import { startBenchService, TEST_ENVIRONMENT } from './lib/service.js'

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '10x10,40x20' }, repeat: { type: 'string', default: '3' } },
})
const SIZES = values.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number])
const REPEAT = Number(values.repeat)
const TASK = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function main() {
  const most = Math.max(...SIZES.map(([, c]) => c))
  const service = await startBenchService({ workers: 1, slots: most })
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'hr-vs-harbor-'))
  const zip = await zipDirectory(TASK)
  // `harbor run` gets the environment the service gives its runners (telemetry off, plain output).
  const env = harnessEnvironment({
    path: `${VENV_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    home: os.tmpdir(),
    pythonPath: [HARNESS_PLUGINS_DIR, path.join(PROJECT_ROOT, 'test', 'harbor-env')].join(':'),
    localCostMap: true,
    openRouterBaseUrl: null,
  })

  const viaHarbor = async (n: number, c: number, name: string): Promise<number> => {
    const args = ['run', '-p', TASK, '-a', 'oracle', '-k', String(n), '-n', String(c)]
    args.push('-o', scratch, '--job-name', name, '-e', TEST_ENVIRONMENT, '-y', '-q')
    const t0 = performance.now()
    await execa(findExecutable('harbor', null, process.env.PATH ?? '')!, args, { env, extendEnv: false, input: '' })
    return (performance.now() - t0) / 1000
  }

  const viaService = async (n: number, c: number): Promise<number> => {
    const t0 = performance.now()
    const form = new FormData()
    form.append('file', new Blob([zip], { type: 'application/zip' }), 'task.zip')
    const fields = { agent: 'oracle', model: 'openai/gpt-4o', n_runs: String(n), max_parallel: String(c) }
    for (const [k, v] of Object.entries(fields)) form.append(k, v)
    const res = await fetch(`${service.base}/api/upload`, { method: 'POST', body: form })
    const body = (await res.json()) as { job_id: string }
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`)
    await readSse(`${service.base}/api/jobs/${body.job_id}/events`, {
      timeoutMs: 600_000,
      stopWhen: (e) => e.event === 'end',
    })
    const seconds = (performance.now() - t0) / 1000
    const job = (await (await fetch(`${service.base}/api/jobs/${body.job_id}`)).json()) as {
      runs: { outcome: string | null }[]
    }
    const passed = job.runs.filter((r) => r.outcome === 'passed').length
    if (passed !== n) throw new Error(`the service passed ${passed} of ${n} runs`)
    return seconds
  }

  const rows: string[] = []
  try {
    await service.ready()
    await viaService(1, 1) // warms the API's task checker and the host's runner
    for (const [n, c] of SIZES) {
      const harbor: number[] = []
      const ours: number[] = []
      for (let i = 0; i < REPEAT; i++) {
        // Alternating which goes first, so neither always runs on a box the other just warmed.
        const name = `k${n}-n${c}-${i}`
        if (i % 2 === 0) {
          harbor.push(await viaHarbor(n, c, name))
          ours.push(await viaService(n, c))
        } else {
          ours.push(await viaService(n, c))
          harbor.push(await viaHarbor(n, c, name))
        }
        process.stderr.write(
          `  N=${n} C=${c} #${i + 1}: harbor run ${harbor.at(-1)!.toFixed(2)} s, service ${ours.at(-1)!.toFixed(2)} s\n`,
        )
      }
      const h = median(harbor)
      const s = median(ours)
      rows.push(
        `| N = ${n}, C = ${c} | ${h.toFixed(2)} s | ${s.toFixed(2)} s | ${(s / h).toFixed(2)} | ${harbor.map((x) => x.toFixed(1)).join(', ')} | ${ours.map((x) => x.toFixed(1)).join(', ')} |`,
      )
    }
  } finally {
    await service.stop()
    await rm(scratch, { recursive: true, force: true })
  }
  process.stdout.write(
    [
      '',
      `oracle runs of hello-pass in the test environment, ${os.cpus().length} CPUs, median of ${REPEAT}`,
      '',
      '| runs | plain `harbor run -k N -n C` | the service (upload → job ended) | ratio | harbor run, each | service, each |',
      '|---|---:|---:|---:|---|---|',
      ...rows,
      '',
    ].join('\n'),
  )
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`)
  process.exit(1)
})
