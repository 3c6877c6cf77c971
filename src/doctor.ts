/**
 * `npm run doctor`: checks every configured execution host (HOSTS) and says, per host, whether it
 * is reachable, which harness versions it has, whether Docker answers, how much disk is free in its
 * work dir, and its slots. Exits 1 when a host is unusable, with the reason. `--json` for machines.
 */
import { inspectHost, type HostReport } from './hosts/inspect.js'
import { boot } from './runtime/process.js'
import { buildHost, harnessBase, harnessBins } from './runtime/hosts.js'
import { harnessEnvironment } from './harness/harbor-command.js'

async function main() {
  const { config } = boot('doctor')
  const reports: HostReport[] = []
  for (const hostConfig of config.hosts) {
    const host = buildHost(config, hostConfig)
    try {
      reports.push(
        await inspectHost(host, {
          slots: hostConfig.slots,
          bins: harnessBins(config, hostConfig),
          env: harnessEnvironment(harnessBase(config, hostConfig)),
          dockerRequired: config.harness.defaultEnvironment === 'docker',
        }),
      )
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
          `     harbor ${r.harbor ?? '-'}; tb ${r.tb ?? '-'}; docker ${r.docker ?? '-'}`,
          ...r.problems.map((p) => `     problem: ${p}`),
          ...r.notes.map((n) => `     note: ${n}`),
        ].join('\n') + '\n',
      )
    }
  }
  process.exit(reports.some((r) => r.problems.length > 0) ? 1 : 0)
}

void main()
