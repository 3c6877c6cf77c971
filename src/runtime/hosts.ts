/**
 * The execution hosts a worker serves, built from their config: the host itself (local or SSH) and
 * a driver for each harness it has.
 */
import pathPosix from 'node:path/posix'
import type { Config, HostConfig } from '../config.js'
import type { HarnessDriver } from '../harness/driver.js'
import { harnessEnvironment } from '../harness/harbor/command.js'
import { harborDriver } from '../harness/harbor/driver.js'
import { harborRunnerSpec } from '../harness/harbor/runner.js'
import { tbHarnessEnvironment } from '../harness/terminus/command.js'
import { terminusDriver } from '../harness/terminus/driver.js'
import type { ManagedHost } from '../hosts/execution-host.js'
import type { RunnerSpec } from '../runners/runner-pool.js'
import { KnownHosts } from '../hosts/known-hosts.js'
import { LocalHost } from '../hosts/local-host.js'
import { SshHost } from '../hosts/ssh-host.js'
import { findExecutable, HARNESS_PLUGINS_DIR, VENV_BIN } from '../paths.js'
import type { Harness } from '../shared/status.js'

export function knownHostsOf(config: Config): KnownHosts {
  return new KnownHosts(config.ssh.knownHostsFile, config.ssh.strictHostKeys)
}

export function buildHost(config: Config, host: HostConfig): ManagedHost {
  return host.ssh ? new SshHost(host, knownHostsOf(config)) : new LocalHost(host.id, host.workDir)
}

/**
 * A driver for each harness the host has. Locally the CLIs are looked up now (.venv, then PATH);
 * over SSH they are the configured paths, or `harbor`/`tb` on the host's PATH.
 */
export function buildDrivers(config: Config, host: HostConfig): Partial<Record<Harness, HarnessDriver>> {
  const base = harnessBase(config, host)
  const bins = harnessBins(config, host)
  const drivers: Partial<Record<Harness, HarnessDriver>> = {}
  if (bins.harbor) drivers.harbor = harborDriver()
  if (bins.tb) drivers.terminus = terminusDriver({ bin: bins.tb, env: tbHarnessEnvironment(base) })
  return drivers
}

/** The host's warm Harbor (its trial runners), if it has Harbor. */
export function buildRunnerSpec(config: Config, host: HostConfig): RunnerSpec | null {
  const bin = harnessBins(config, host).harbor
  if (!bin) return null
  return harborRunnerSpec({
    harborBin: bin,
    env: harnessEnvironment(harnessBase(config, host)),
    pluginsDir: HARNESS_PLUGINS_DIR,
    slots: host.slots,
    maxAttemptsPerRunner: host.runnerMaxAttempts ?? config.harness.runnerMaxAttempts,
    // The default environment too: most attempts use it, and its module is imported once either way.
    preload: [...new Set([...config.harness.runnerPreload, config.harness.defaultEnvironment])],
    idleExitSec: config.harness.runnerIdleExitSec,
  })
}

/** The harness CLIs of a host, where this process can tell (over SSH: as configured, else on PATH). */
export function harnessBins(config: Config, host: HostConfig): Record<'harbor' | 'tb', string | null> {
  if (host.ssh) return { harbor: host.harborBin ?? 'harbor', tb: host.tbBin ?? 'tb' }
  return {
    harbor: findExecutable('harbor', host.harborBin ?? config.harness.harborBin),
    tb: findExecutable('tb', host.tbBin ?? config.harness.tbBin),
  }
}

/** What a host's harness environment is built from. */
export function harnessBase(config: Config, host: HostConfig) {
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
