/**
 * A service's `build`: its context and Dockerfile stay in the compose file's folder (Harbor's own
 * `${CONTEXT_DIR}` is that folder), and no build option reaches the host (its network, its SSH agent,
 * its files through extra contexts or a local cache, privileged builds).
 */
import { HARBOR_CONTEXT_DIR } from './harness-forms.js'
import { staysInFolder } from './paths.js'
import {
  allowed,
  checkKeys,
  isEmpty,
  isMapping,
  isOff,
  type KeyCheck,
  refuseUnless,
  type Scope,
  show,
} from './scope.js'

const hostAccess = refuseUnless('build_host_access', isEmpty)

function checksFor(context: unknown): Record<string, KeyCheck> {
  return {
    context: checkContext,
    dockerfile: (value, key, where, scope) => checkDockerfile(context, value, key, where, scope),
    dockerfile_inline: allowed,
    args: allowed,
    labels: allowed,
    no_cache: allowed,
    provenance: allowed,
    sbom: allowed,
    pull: allowed,
    target: allowed,
    shm_size: allowed,
    isolation: allowed,
    secrets: allowed,
    tags: allowed,
    ulimits: allowed,
    platforms: allowed,
    privileged: refuseUnless('privileged', isOff),
    entitlements: refuseUnless('privileged', isEmpty),
    network: refuseUnless('host_network', (v) => isEmpty(v) || v === 'default' || v === 'none'),
    extra_hosts: refuseUnless('extra_hosts', isEmpty),
    additional_contexts: hostAccess,
    ssh: hostAccess,
    cache_from: hostAccess,
    cache_to: hostAccess,
  }
}

export const checkBuild: KeyCheck = (build, key, where, scope) => {
  if (build === null || build === undefined) return
  if (typeof build === 'string') return checkContext(build, key, where, scope)
  if (!isMapping(build)) return scope.invalid(where, `${key} must be a path or a mapping`)
  checkKeys(build, checksFor(build.context), where, scope, `${key}.`)
}

function isOwnContext(value: unknown, scope: Scope): boolean {
  if (value === null || value === undefined) return true
  if (typeof value !== 'string') return false
  return (scope.format === 'harbor' && value === HARBOR_CONTEXT_DIR) || staysInFolder(value)
}

const checkContext: KeyCheck = (value, key, where, scope) => {
  if (!isOwnContext(value, scope)) {
    scope.report('outside_paths', where, `${key} ${show(value)} (outside the compose file's folder)`)
  }
}

/** The Dockerfile is found from the context; it too must be in the folder. */
function checkDockerfile(context: unknown, value: unknown, key: string, where: string, scope: Scope): void {
  if (!isOwnContext(context, scope)) return // reported with the context
  const base = typeof context === 'string' && context !== HARBOR_CONTEXT_DIR ? context : '.'
  const inside = typeof value === 'string' && staysInFolder(value) && staysInFolder(`${base}/${value}`)
  if (!inside) scope.report('outside_paths', where, `${key} ${show(value)} (outside the compose file's folder)`)
}
