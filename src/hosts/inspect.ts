/**
 * A host's fitness to take runs, checked the way the service will use it: reachable (over SSH for a
 * remote host), its work dir writable with free space, the harness CLIs it has and their versions,
 * and whether its Docker daemon answers.
 */
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
  /** Each harness's version there, by name; null where its CLI is not found. */
  harnesses: Record<string, string | null>
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
    /** Each harness: its CLI there (null if the host has none) and the command that prints its version. */
    harnesses: { name: string; command: string; bin: string | null; versionArgv: (bin: string) => string[] }[]
    /** The harnesses' environment on that host (PATH, DOCKER_HOST, …). */
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
    harnesses: {},
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

  for (const h of options.harnesses) {
    report.harnesses[h.name] = h.bin ? await inLineVersion(inEnv(h.versionArgv(h.bin).map(shellQuote).join(' '))) : null
  }
  const missing = options.harnesses.filter((h) => !report.harnesses[h.name])
  if (missing.length === options.harnesses.length) {
    report.problems.push(`no harness CLI found (${missing.map((h) => h.command).join(' or ')})`)
  } else {
    for (const h of missing) report.notes.push(`${h.command} not found: harness=${h.name} runs cannot go here`)
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
