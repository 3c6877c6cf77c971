/**
 * The top level of a task's compose file besides `services`: the volumes, networks, secrets and
 * configs it defines, and keys that pull in other files or programs. A definition may not name
 * something that already exists on the host (`external`, `name`), a volume may not be a host folder
 * in disguise (`driver_opts` with `o: bind`), a network may not take the host's routes or interfaces.
 */
import { reachesEngineSocket, staysInFolder } from './paths.js'
import {
  allowed,
  checkKeys,
  isEmpty,
  isMapping,
  isOff,
  type KeyCheck,
  type Mapping,
  named,
  refuseUnless,
  type Scope,
  show,
} from './scope.js'

const external = refuseUnless('external_resources', isOff)
const customName = refuseUnless('external_resources', isEmpty)

/** A volume in memory (`type: tmpfs`, `device: tmpfs`) is the one set of driver options that stays off the host. */
function isTmpfsVolume(options: Mapping): boolean {
  const { type, device, o, ...rest } = options
  return type === 'tmpfs' && device === 'tmpfs' && Object.keys(rest).length === 0 && !String(o ?? '').includes('bind')
}

const checkDriverOptions: KeyCheck = (value, key, where, scope) => {
  if (isEmpty(value) || (isMapping(value) && isTmpfsVolume(value))) return
  const device = isMapping(value) ? value.device : undefined
  if (typeof device === 'string' && reachesEngineSocket(device))
    scope.report('docker_socket', where, `${key} ${show(value)}`)
  scope.report('host_mounts', where, `${key} ${show(value)}`)
}

const VOLUME_CHECKS: Readonly<Record<string, KeyCheck>> = {
  driver: refuseUnless('host_mounts', (v) => isEmpty(v) || v === 'local'),
  driver_opts: checkDriverOptions,
  external,
  name: customName,
  labels: allowed,
}

const NETWORK_CHECKS: Readonly<Record<string, KeyCheck>> = {
  driver: refuseUnless('host_network', (v) => isEmpty(v) || v === 'bridge'),
  driver_opts: refuseUnless('host_network', isEmpty),
  // A chosen subnet can take over a route of the host's (to its database, say).
  ipam: refuseUnless('host_network', isEmpty),
  external,
  name: customName,
  internal: allowed,
  attachable: allowed,
  enable_ipv4: allowed,
  enable_ipv6: allowed,
  labels: allowed,
}

const checkFile: KeyCheck = (value, key, where, scope) => {
  if (typeof value !== 'string' || !staysInFolder(value)) {
    scope.report('outside_paths', where, `${key} ${show(value)} (outside the compose file's folder)`)
  }
}

/** Secrets and configs: a file of the task's own, an environment variable or inline content. */
const FILE_RESOURCE_CHECKS: Readonly<Record<string, KeyCheck>> = {
  file: checkFile,
  environment: allowed,
  content: allowed,
  labels: allowed,
  external,
  name: customName,
  driver: customName,
  driver_opts: customName,
  template_driver: customName,
}

function definitions(kind: string, checks: Readonly<Record<string, KeyCheck>>): KeyCheck {
  return (value, key, _where, scope) => {
    if (value === null || value === undefined) return
    if (!isMapping(value)) return scope.invalid(null, `${key} must be a mapping`)
    for (const [name, definition] of Object.entries(value)) {
      const where = named(kind, name)
      if (definition === null || definition === undefined) continue
      if (!isMapping(definition)) return scope.invalid(where, `a ${kind} must be a mapping`)
      checkKeys(definition, checks, where, scope)
    }
  }
}

/** The top-level keys but `services`, which the caller checks service by service. */
export const TOP_LEVEL_CHECKS: Readonly<Record<string, KeyCheck>> = {
  version: allowed,
  // The project's name: the harnesses give theirs on the command line, which wins.
  name: allowed,
  services: allowed,
  volumes: definitions('volume', VOLUME_CHECKS),
  networks: definitions('network', NETWORK_CHECKS),
  secrets: definitions('secret', FILE_RESOURCE_CHECKS),
  configs: definitions('config', FILE_RESOURCE_CHECKS),
  include: refuseUnless('include', isEmpty),
  models: refuseUnless('provider', isEmpty),
}

export function checkTopLevel(document: Mapping, scope: Scope): void {
  checkKeys(document, TOP_LEVEL_CHECKS, 'top level', scope)
}
