/**
 * One service of a task's compose file, key by key. Every key of the Compose specification is listed
 * here: the ones that only shape the container are allowed, the ones that could reach the host are
 * checked, and a key not listed (a newer Compose key, a typo) is refused until it is reviewed.
 */
import { checkBuild } from './build.js'
import { checkVolumes, checkVolumesFrom } from './mounts.js'
import { staysInFolder } from './paths.js'
import {
  allowed,
  checkKeys,
  isEmpty,
  isMapping,
  isOff,
  type KeyCheck,
  named,
  refuseUnless,
  type Scope,
  show,
} from './scope.js'
import type { ComposeRule } from '../../shared/compose-rules.js'

/** A namespace mode: one of `plain`, or `service:<a service of this task>`; not `host`, not `container:…`. */
function namespace(rule: ComposeRule, plain: readonly string[]): KeyCheck {
  return (value, key, where, scope) => {
    if (value === null || value === undefined) return
    if (typeof value === 'string' && plain.includes(value)) return
    if (typeof value === 'string' && value.startsWith('service:') && scope.services.has(value.slice(8))) return
    scope.report(rule, where, `${key} ${show(value)}`)
  }
}

/** `env_file`, `label_file`: files read on the host, which must be the task's own. */
const checkFiles: KeyCheck = (value, key, where, scope) => {
  if (value === null || value === undefined) return
  for (const entry of Array.isArray(value) ? (value as unknown[]) : [value]) {
    const file = isMapping(entry) ? entry.path : entry
    if (typeof file !== 'string' || !staysInFolder(file)) {
      scope.report('outside_paths', where, `${key} ${show(file)} (outside the compose file's folder)`)
    }
  }
}

const checkExtends: KeyCheck = (value, key, where, scope) => {
  if (isMapping(value)) {
    checkKeys(value, { service: allowed, file: refuseUnless('include', isEmpty) }, where, scope, `${key}.`)
  }
}

const NO_NEW_PRIVILEGES = new Set(['no-new-privileges', 'no-new-privileges:true', 'no-new-privileges=true'])

const checkSecurityOpt: KeyCheck = (value, key, where, scope) => {
  if (value === null || value === undefined) return
  const options = Array.isArray(value) ? (value as unknown[]) : [value]
  for (const option of options) {
    if (typeof option !== 'string' || !NO_NEW_PRIVILEGES.has(option)) {
      scope.report('security_opt', where, `${key} ${show(option)}`)
    }
  }
}

const checkLogging: KeyCheck = (value, key, where, scope) => {
  if (value === null || value === undefined) return
  if (!isMapping(value)) return scope.invalid(where, `${key} must be a mapping`)
  const driver = refuseUnless('logging', (v) => isEmpty(v) || v === 'json-file' || v === 'local' || v === 'none')
  checkKeys(value, { driver, options: allowed }, where, scope, `${key}.`)
}

const checkNetworks: KeyCheck = (value, key, where, scope) => {
  if (!isMapping(value)) return // a list of network names, each defined at the top level
  const attachment = {
    aliases: allowed,
    interface_name: allowed,
    ipv4_address: allowed,
    ipv6_address: allowed,
    link_local_ips: allowed,
    mac_address: allowed,
    priority: allowed,
    gw_priority: allowed,
    driver_opts: refuseUnless('host_network', isEmpty),
  }
  for (const [network, settings] of Object.entries(value)) {
    if (isMapping(settings)) checkKeys(settings, attachment, where, scope, `${key}.${network}.`)
  }
}

/** Device requests (GPUs) are made under `deploy.resources.reservations.devices`. */
const checkDeploy: KeyCheck = (value, key, where, scope) => {
  const resources = isMapping(value) ? value.resources : undefined
  const reservations = isMapping(resources) ? resources.reservations : undefined
  const devices = isMapping(reservations) ? reservations.devices : undefined
  if (!isEmpty(devices)) scope.report('gpus', where, `${key}.resources.reservations.devices ${show(devices)}`)
}

/** `post_start`, `pre_stop`: commands run in the container, privileged if asked. */
const checkHooks: KeyCheck = (value, key, where, scope) => {
  if (!Array.isArray(value)) return
  const hook = {
    command: allowed,
    user: allowed,
    working_dir: allowed,
    environment: allowed,
    privileged: refuseUnless('privileged', isOff),
  }
  value.forEach((entry: unknown, i) => {
    if (isMapping(entry)) checkKeys(entry, hook, where, scope, `${key}[${i}].`)
  })
}

const SERVICE_CHECKS: Readonly<Record<string, KeyCheck>> = {
  // The container itself: what it runs, its resources, its names, its health.
  annotations: allowed,
  attach: allowed,
  blkio_config: allowed,
  cap_drop: allowed,
  command: allowed,
  configs: allowed,
  container_name: allowed,
  cpu_count: allowed,
  cpu_percent: allowed,
  cpu_shares: allowed,
  cpu_quota: allowed,
  cpu_period: allowed,
  cpu_rt_period: allowed,
  cpu_rt_runtime: allowed,
  cpus: allowed,
  cpuset: allowed,
  depends_on: allowed,
  // Acted on only by `docker compose watch`, which no harness runs.
  develop: allowed,
  dns: allowed,
  dns_opt: allowed,
  dns_search: allowed,
  domainname: allowed,
  entrypoint: allowed,
  environment: allowed,
  expose: allowed,
  group_add: allowed,
  healthcheck: allowed,
  hostname: allowed,
  image: allowed,
  init: allowed,
  isolation: allowed,
  labels: allowed,
  links: allowed,
  mac_address: allowed,
  mem_limit: allowed,
  mem_reservation: allowed,
  mem_swappiness: allowed,
  memswap_limit: allowed,
  pids_limit: allowed,
  platform: allowed,
  profiles: allowed,
  pull_policy: allowed,
  pull_refresh_after: allowed,
  read_only: allowed,
  restart: allowed,
  scale: allowed,
  secrets: allowed,
  shm_size: allowed,
  stdin_open: allowed,
  stop_grace_period: allowed,
  stop_signal: allowed,
  storage_opt: allowed,
  tmpfs: allowed,
  tty: allowed,
  // Per-process ceilings inside the container's own cgroups: they open nothing on the host.
  ulimits: allowed,
  user: allowed,
  working_dir: allowed,
  // What could reach the host.
  build: checkBuild,
  volumes: checkVolumes,
  volumes_from: checkVolumesFrom,
  privileged: refuseUnless('privileged', isOff),
  post_start: checkHooks,
  pre_stop: checkHooks,
  cap_add: refuseUnless('cap_add', isEmpty),
  devices: refuseUnless('devices', isEmpty),
  device_cgroup_rules: refuseUnless('devices', isEmpty),
  gpus: refuseUnless('gpus', isEmpty),
  deploy: checkDeploy,
  pid: namespace('host_pid', []),
  ipc: namespace('host_ipc', ['private', 'shareable', 'none']),
  uts: refuseUnless('host_uts', isEmpty),
  userns_mode: refuseUnless('host_userns', isEmpty),
  cgroup: refuseUnless('host_cgroup', (v) => isEmpty(v) || v === 'private'),
  cgroup_parent: refuseUnless('host_cgroup', isEmpty),
  network_mode: namespace('host_network', ['none', 'bridge', 'default']),
  networks: checkNetworks,
  use_api_socket: refuseUnless('docker_socket', isOff),
  external_links: refuseUnless('external_resources', isEmpty),
  env_file: checkFiles,
  label_file: checkFiles,
  extends: checkExtends,
  security_opt: checkSecurityOpt,
  credential_spec: refuseUnless('security_opt', isEmpty),
  sysctls: refuseUnless('sysctls', isEmpty),
  extra_hosts: refuseUnless('extra_hosts', isEmpty),
  runtime: refuseUnless('runtime', (v) => isEmpty(v) || v === 'runc'),
  oom_kill_disable: refuseUnless('oom', isOff),
  oom_score_adj: refuseUnless(
    'oom',
    (v) => isEmpty(v) || (typeof v === 'number' && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v)),
  ),
  logging: checkLogging,
  ports: refuseUnless('ports', isEmpty),
  provider: refuseUnless('provider', isEmpty),
  models: refuseUnless('provider', isEmpty),
}

export function checkService(name: string, service: unknown, scope: Scope): void {
  const where = named('service', name)
  if (service === null || service === undefined) return
  if (!isMapping(service)) return scope.invalid(where, 'a service must be a mapping')
  checkKeys(service, SERVICE_CHECKS, where, scope)
}
