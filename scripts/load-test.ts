/**
 * Load test (not a test of correctness): the service's cost at scale, with the real warm harness and
 * a stand-in agent.
 *
 *   npm run load -- [--runs 600] [--slots 600] [--duration 120] [--rate 5] [--workers 1]
 *                   [--follow 20] [--pollers 5] [--job-size 100] [--job-pages 0] [--profile DIR]
 *
 * Starts the whole service on throwaway embedded PostgreSQL and Temporal dev server: the API and
 * `--workers` worker processes (each serving its own local host with slots/workers slots, run by
 * its warm trial runners: real Harbor trials in the test environment), with the load tests'
 * stand-in agent (test/load/harbor_load_agent.py: a real Harbor agent by import path that writes
 * `--rate` log lines a second for `--duration` seconds, and a trajectory, calling no model). Then:
 *   1. upload → harness start on the idle service (a few single-run jobs, one after another);
 *   2. `--runs` runs in jobs of at most 100 runs, all at once; while they run it follows `--follow`
 *      runs' SSE streams (each line carries the time the harness wrote it), polls
 *      `GET /api/jobs/{id}` of a 1000-run job and of the load's jobs like dashboards would, and
 *      samples the processes' resident memory and the log rows written;
 *   3. prints one table: makespan / ideal (ceil(N/C) × D), latencies as median and p95, memory, rows/s.
 *
 * Its parts are in scripts/load/: the options, the submitter (uploads), the SSE and status probes,
 * the resource sampler, the CPU account, the results read afterwards and the report.
 */
import path from 'node:path'
import { createDb } from '../src/db/database.js'
import { startBenchService } from './lib/service.js'
import { parseLoadOptions } from './load/options.js'
import { printReport } from './load/report.js'
import { readResults } from './load/results.js'
import { runLoad } from './load/run.js'
import { insertBigJob, loadTaskZip, measureIdleStart, uploader } from './load/submitter.js'

async function main() {
  const opts = parseLoadOptions()
  // (--cpu-prof is refused in NODE_OPTIONS: it goes on the command line.)
  const nodeArgs = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profile)}`] : []
  const service = await startBenchService({ workers: opts.workers, slots: opts.slots, nodeArgs })
  const dbh = createDb(service.infra.databaseUrl)
  const upload = uploader(service.base, await loadTaskZip(), opts.duration)
  try {
    await service.ready()
    // 1. Idle: upload → the harness's first line.
    const idleStart = await measureIdleStart(service.base, upload)
    const bigJob = await insertBigJob(dbh.db)
    // 2. The load.
    const run = await runLoad(service, dbh.db, opts, upload, bigJob)
    const results = await readResults(dbh.db, service.config, service.infra.temporalAddress, run.jobIds)
    await run.cpu.sample()
    const cpuUse = run.cpu.totals(run.cpuBase)
    // 3. The report.
    printReport({ opts, run, results, idleStart, cpuUse })
  } finally {
    await dbh.close()
    await service.stop()
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`)
  process.exit(1)
})
