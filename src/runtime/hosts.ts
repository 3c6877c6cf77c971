/**
 * The execution hosts a worker serves, built from their config: the host itself (local or SSH) and
 * a driver for each harness of the registry it has.
 */
import pathPosix from 'node:path/posix'
import type { Config, HostConfig } from '../config.js'
import type { HarnessDriver } from '../harness/driver.js'
import type { HarnessEnvironmentBase } from '../harness/environment.js'
import { harnessEntries, HARNESSES, type HarnessName } from '../harness/registry.js'
import type { ManagedHost } from '../hosts/execution-host.js'
import type { RunnerSpec } from '../runners/runner-pool.js'
import { KnownHosts } from '../hosts/known-hosts.js'
import { LocalHost } from '../hosts/local-host.js'
import { SshHost } from '../hosts/ssh-host.js'
import { findExecutable, HARNESS_PLUGINS_DIR, VENV_BIN } from '../paths.js'

export function knownHostsOf(config: Config): KnownHosts {
  return new KnownHosts(config.ssh.knownHostsFile, config.ssh.strictHostKeys)
}

export function buildHost(config: Config, host: HostConfig): ManagedHost {
  if (!host.ssh) return new LocalHost(host.id, host.workDir)
  const { id, slots, workDir, ssh } = host
  return new SshHost({ id, slots, workDir, ssh, knownHosts: knownHostsOf(config), pluginsDir: HARNESS_PLUGINS_DIR })
}

/**
 * A driver for each harness the host has. Locally the CLIs are looked up now (.venv, then PATH);
 * over SSH they are the configured paths, or the commands on the host's PATH.
 */
export function buildDrivers(config: Config, host: HostConfig): Partial<Record<HarnessName, HarnessDriver>> {
  const base = harnessBase(config, host)
  const drivers: Partial<Record<HarnessName, HarnessDriver>> = {}
  for (const [name, bin] of Object.entries(harnessBins(config, host)) as [HarnessName, string][]) {
    const harness = HARNESSES[name]
    drivers[name] = harness.driver({ bin, env: harness.environment(base) })
  }
  return drivers
}

/** The host's warm runners (Harbor's), if it has the harness they run. */
export function buildRunnerSpec(config: Config, host: HostConfig): RunnerSpec | null {
  const bins = harnessBins(config, host)
  for (const [name, harness] of harnessEntries()) {
    const bin = bins[name]
    if (!harness.runners || !bin) continue
    return harness.runners({
      bin,
      env: harness.environment(harnessBase(config, host)),
      pluginsDir: HARNESS_PLUGINS_DIR,
      slots: host.slots,
      maxAttemptsPerRunner: host.runnerMaxAttempts ?? config.harness.runnerMaxAttempts,
      // The default environment too: most attempts use it, and its module is imported once either way.
      preload: [...new Set([...config.harness.runnerPreload, config.harness.defaultEnvironment])],
      idleExitSec: config.harness.runnerIdleExitSec,
    })
  }
  return null
}

/** The harness whose attempts run in warm runners, if any (see HarnessDefinition.runners). */
export function runnerHarness(): HarnessName | null {
  return harnessEntries().find(([, harness]) => harness.runners)?.[0] ?? null
}

/**
 * The harness CLIs of a host, where this process can tell: locally those found (see
 * {@link localHarnessBins}); over SSH as configured, else the command (on the host's PATH).
 */
export function harnessBins(config: Config, host: HostConfig): Partial<Record<HarnessName, string>> {
  if (!host.ssh) return localHarnessBins(config, host.bins)
  return Object.fromEntries(harnessEntries().map(([name, harness]) => [name, host.bins[name] ?? harness.cli.command]))
}

/**
 * The harness CLIs installed where this process runs: as the host entry (`named`) or the
 * configuration names them, else in the project's `.venv/bin`, else on PATH; those not found left out.
 */
export function localHarnessBins(
  config: Config,
  named: Partial<Record<HarnessName, string>> = {},
): Partial<Record<HarnessName, string>> {
  const bins: Partial<Record<HarnessName, string>> = {}
  for (const [name, harness] of harnessEntries()) {
    const configured = named[name] ?? config.harness.bins[name] ?? null
    const bin = findExecutable(harness.cli.command, configured, config.harness.path)
    if (bin) bins[name] = bin
  }
  return bins
}

/** What a host's harness environment is built from. */
export function harnessBase(config: Config, host: HostConfig): HarnessEnvironmentBase {
  const remote = host.ssh !== null
  const toolsDir = pathPosix.join(host.workDir, '.harbor-runner')
  return {
    // The harness CLIs' own environment first: Terminal-Bench's agents call `python`, `tb` itself.
    path: remote
      ? [host.path, '/usr/local/bin:/usr/bin:/bin'].filter(Boolean).join(':')
      : [VENV_BIN, host.path, config.harness.path].filter(Boolean).join(':'),
    home: remote ? null : config.harness.home,
    // Our Harbor job plugin first, then whatever the operator adds.
    pythonPath: [
      remote ? `${toolsDir}/harness-plugins` : HARNESS_PLUGINS_DIR,
      host.pythonPath ?? (remote ? null : config.harness.pythonPath),
    ]
      .filter(Boolean)
      .join(':'),
    localCostMap: config.harness.localCostMap,
    openRouterBaseUrl: config.harness.openRouterBaseUrl,
    docker: host.docker,
  }
}
