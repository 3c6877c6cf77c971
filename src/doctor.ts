/**
 * `npm run doctor`: checks every configured execution host (HOSTS) and says, per host, whether it
 * is reachable, which harness versions it has, whether Docker answers, how much disk is free in its
 * work dir, its slots, and its warm Harbor: whether a trial runner can start there, and the runners
 * running now (version, warm or not, attempts, memory). Exits 1 when a host is unusable, with the
 * reason. `--json` for machines.
 */
import { inspectHost, type HostReport } from './hosts/inspect.js'
import type { ManagedHost } from './hosts/execution-host.js'
import { RunnerPool, type RunnerSpec } from './runners/runner-pool.js'
import { boot } from './runtime/process.js'
import { buildHost, buildRunnerSpec, harnessBase, harnessBins, runnerHarness } from './runtime/hosts.js'
import { DEFAULT_HARNESS, harnessEntries, HARNESSES } from './harness/registry.js'

interface RunnersReport {
  /** The interpreter and Harbor a runner would start with; null when none can start (see problems). */
  canStart: { python: string; harbor: string } | null
  running: {
    id: string
    current: boolean
    harbor: string
    warm: boolean
    draining: boolean
    attempts: number
    maxAttempts: number
    residentBytes: number
  }[]
}

async function inspectRunners(host: ManagedHost, spec: RunnerSpec, report: HostReport): Promise<RunnersReport> {
  const result: RunnersReport = { canStart: null, running: [] }
  try {
    result.canStart = await spec.check(host)
  } catch (err) {
    report.problems.push(err instanceof Error ? err.message : String(err))
  }
  for (const r of await new RunnerPool(host, spec).survey()) {
    if (!r.state) continue
    const s = r.state
    result.running.push({
      id: r.id,
      current: r.current,
      harbor: s.harbor_version,
      warm: s.warm,
      draining: s.draining,
      attempts: s.attempts,
      maxAttempts: s.max_attempts,
      residentBytes: s.rss_bytes,
    })
  }
  return result
}

function runnerLines(r: RunnersReport | null): string[] {
  if (!r) return []
  const start = r.canStart ? `can start (${r.canStart.python}, harbor ${r.canStart.harbor})` : 'cannot start'
  const running = r.running.map(
    (x) =>
      `     runner ${x.id}: harbor ${x.harbor}, ${x.warm ? 'warm' : 'warming up'}, ${x.attempts}/${x.maxAttempts} attempts, ` +
      `${(x.residentBytes / 1024 ** 2).toFixed(0)} MiB${x.draining ? ', draining' : ''}${x.current ? '' : ', older build'}`,
  )
  return [`     trial runner: ${start}; ${r.running.length} running`, ...running]
}

async function main() {
  const { config } = boot('doctor')
  const reports: (HostReport & { runners: RunnersReport | null })[] = []
  for (const hostConfig of config.hosts) {
    const host = buildHost(config, hostConfig)
    try {
      const bins = harnessBins(config, hostConfig)
      const report = await inspectHost(host, {
        slots: hostConfig.slots,
        harnesses: harnessEntries().map(([name, h]) => ({ name, ...h.cli, bin: bins[name] ?? null })),
        env: HARNESSES[DEFAULT_HARNESS].environment(harnessBase(config, hostConfig)),
        dockerRequired: config.harness.defaultEnvironment === 'docker',
      })
      const spec = buildRunnerSpec(config, hostConfig)
      const warm = runnerHarness()
      const runners =
        spec && warm && report.reachable && report.harnesses[warm] ? await inspectRunners(host, spec, report) : null
      reports.push({ ...report, runners })
    } finally {
      await host.close()
    }
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(reports, null, 2) + '\n')
  } else {
    for (const r of reports) {
      const disk = r.freeDiskBytes === null ? '?' : `${(r.freeDiskBytes / 1024 ** 3).toFixed(1)} GiB free`
      process.stdout.write(
        [
          `${r.problems.length === 0 ? 'ok  ' : 'FAIL'} ${r.id} (${r.kind} ${r.address}), ${r.slots} slots`,
          `     reachable: ${r.reachable ? 'yes' : 'no'}; work dir: ${r.workDirWritable ? 'writable' : 'not writable'}, ${disk}`,
          `     ${Object.entries(r.harnesses)
            .map(([name, version]) => `${name} ${version ?? '-'}`)
            .join('; ')}; docker ${r.docker ?? '-'}`,
          ...runnerLines(r.runners),
          ...r.problems.map((p) => `     problem: ${p}`),
          ...r.notes.map((n) => `     note: ${n}`),
        ].join('\n') + '\n',
      )
    }
  }
  process.exit(reports.some((r) => r.problems.length > 0) ? 1 : 0)
}

void main()
