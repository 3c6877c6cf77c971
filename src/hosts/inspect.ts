/**
 * A host's fitness to take runs, checked the way the service will use it: reachable (over SSH for a
 * remote host), its work dir writable with free space, the harness CLIs it has and their versions,
 * and whether its Docker daemon answers.
 */
import pathPosix from 'node:path/posix'
import type { ManagedHost } from './execution-host.js'
import { shellQuote } from './shell.js'

export interface HostReport {
  id: string
  kind: 'local' | 'ssh'
  address: string
  slots: number
  reachable: boolean
  workDirWritable: boolean
  freeDiskBytes: number | null
  harbor: string | null
  tb: string | null
  docker: string | null
  /** Reasons the host cannot take runs; empty when it can. */
  problems: string[]
  /** Worth knowing, not blocking. */
  notes: string[]
}

export async function inspectHost(
  host: ManagedHost,
  options: {
    slots: number
    bins: Record<'harbor' | 'tb', string | null>
    /** The harness's environment on that host (PATH, DOCKER_HOST, …). */
    env: Record<string, string>
    dockerRequired: boolean
  },
): Promise<HostReport> {
  const report: HostReport = {
    id: host.id,
    kind: host.kind,
    address: host.address,
    slots: options.slots,
    reachable: false,
    workDirWritable: false,
    freeDiskBytes: null,
    harbor: null,
    tb: null,
    docker: null,
    problems: [],
    notes: [],
  }
  try {
    await host.prepare()
    report.reachable = true
    await host.check()
    report.workDirWritable = true
  } catch (err) {
    report.problems.push(err instanceof Error ? err.message : String(err))
    return report
  }

  const inEnv = (command: string) => {
    const env = Object.entries(options.env).map(([k, v]) => `${k}=${shellQuote(v)}`)
    return host.exec(['sh', '-c', `env ${env.join(' ')} ${command}`])
  }
  const df = await host.exec(['df', '-Pk', host.absolute('.')])
  const available = Number(df.stdout.trim().split('\n').at(-1)?.split(/\s+/)[3])
  if (Number.isFinite(available)) report.freeDiskBytes = available * 1024
  if (report.freeDiskBytes !== null && report.freeDiskBytes < 2 * 1024 ** 3) {
    report.notes.push(`only ${(report.freeDiskBytes / 1024 ** 3).toFixed(1)} GiB free in the work dir`)
  }

  if (options.bins.harbor) {
    const v = await inLineVersion(inEnv(`${shellQuote(options.bins.harbor)} --version`))
    report.harbor = v
  }
  if (options.bins.tb) {
    // tb has no --version: ask its package.
    const dir = pathPosix.dirname(options.bins.tb)
    const python = dir === '.' ? 'python3' : pathPosix.join(dir, 'python')
    report.tb = await inLineVersion(
      inEnv(`${shellQuote(python)} -c "from importlib.metadata import version; print(version('terminal-bench'))"`),
    )
  }
  if (!report.harbor && !report.tb) report.problems.push('no harness CLI found (harbor or tb)')
  else {
    if (!report.harbor) report.notes.push('harbor not found: harness=harbor runs cannot go here')
    if (!report.tb) report.notes.push('tb not found: harness=terminus runs cannot go here')
  }

  const docker = await inEnv(`docker info --format '{{.ServerVersion}}'`)
  report.docker = docker.code === 0 ? docker.stdout.trim() : null
  if (!report.docker) {
    const why = /not found/.test(docker.stderr) ? 'docker is not installed' : 'the Docker daemon does not answer'
    if (options.dockerRequired) report.problems.push(`${why} (the default environment is docker)`)
    else report.notes.push(why)
  }
  return report
}

async function inLineVersion(result: Promise<{ code: number | null; stdout: string }>): Promise<string | null> {
  const { code, stdout } = await result
  return code === 0 ? stdout.trim().split('\n').at(-1) || null : null
}
