/**
 * A service's `volumes` and `volumes_from`. Named volumes, anonymous volumes, tmpfs and image mounts
 * stay inside Docker; anything whose source is on the host (a path, `~`, `./…`, a variable that could
 * be either, a named pipe) is a host mount, and the engine's socket is refused on its own account too.
 */
import { isHarnessLongMount, isHarnessShortMount } from './harness-forms.js'
import { reachesEngineSocket } from './paths.js'
import { isExtension, isMapping, type KeyCheck, type Mapping, type Scope, show } from './scope.js'

/** What Docker accepts as a volume name; any other source is a path. */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

const LONG_KEYS = new Set(['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'])

export const checkVolumes: KeyCheck = (volumes, key, where, scope) => {
  if (volumes === null || volumes === undefined) return
  if (!Array.isArray(volumes)) return scope.invalid(where, `${key} must be a list`)
  volumes.forEach((volume: unknown, i) => {
    const item = `${key}[${i}]`
    if (typeof volume === 'string') checkShortVolume(volume, item, where, scope)
    else if (isMapping(volume)) checkLongVolume(volume, item, where, scope)
    else scope.invalid(where, `${item} must be a string or a mapping`)
  })
}

function checkShortVolume(spec: string, key: string, where: string, scope: Scope): void {
  if (isHarnessShortMount(spec, scope.format)) return
  const shown = `${key} ${show(spec)}`
  // Compose interpolates before it splits: `${X}` may become `/:/host`.
  if (spec.includes('$')) return scope.report('host_mounts', where, `${shown} (a mount from a variable)`)
  const source = shortVolumeSource(spec)
  if (source === null || VOLUME_NAME.test(source)) return
  reportHostPath(source, shown, where, scope)
}

/** The source of `SOURCE:TARGET[:MODE]`; `null` for an anonymous volume (`TARGET` alone). */
export function shortVolumeSource(spec: string): string | null {
  const parts = spec.split(':')
  if (parts.length === 1) return null
  const [first, second] = parts as [string, string]
  // A Windows drive (`C:\data:C:\data`): the letter and the path are one source.
  if (/^[A-Za-z]$/.test(first) && parts.length > 2 && /^[\\/]/.test(second)) return `${first}:${second}`
  return first
}

function checkLongVolume(mount: Mapping, key: string, where: string, scope: Scope): void {
  for (const name of Object.keys(mount)) {
    if (!LONG_KEYS.has(name) && !isExtension(name)) scope.report('unknown_keys', where, `${key}.${name}`)
  }
  const { type, source } = mount
  const shown = `${key} ${show(mount)}`
  if (type === 'tmpfs' || type === 'image') return
  if (type === 'volume') {
    if (source === undefined || source === null || (typeof source === 'string' && VOLUME_NAME.test(source))) return
    return scope.report('host_mounts', where, `${shown} (a volume whose source is not a volume name)`)
  }
  if (type === 'bind' && isHarnessLongMount(mount, scope.format)) return
  if ((type === 'bind' || type === 'npipe') && typeof source === 'string' && !source.includes('$')) {
    return reportHostPath(source, shown, where, scope)
  }
  if (type === 'bind' || type === 'npipe') return scope.report('host_mounts', where, `${shown} (a host mount)`)
  scope.report('host_mounts', where, `${shown} (a mount of type ${show(type ?? null)})`)
}

function reportHostPath(source: string, shown: string, where: string, scope: Scope): void {
  // Refused as a host mount as well, so that allowing host mounts does not let the socket through.
  if (reachesEngineSocket(source))
    scope.report('docker_socket', where, `${shown} (the container engine's socket, or a folder above it)`)
  scope.report('host_mounts', where, `${shown} (a path on the host)`)
}

/** `volumes_from`: another service of the task is fine; `container:…` is any container on the host. */
export const checkVolumesFrom: KeyCheck = (value, key, where, scope) => {
  if (value === null || value === undefined) return
  if (!Array.isArray(value)) return scope.invalid(where, `${key} must be a list`)
  for (const entry of value as unknown[]) {
    const service = typeof entry === 'string' ? entry.replace(/:(ro|rw)$/, '') : null
    if (service === null || !scope.services.has(service)) {
      scope.report('host_mounts', where, `${key} ${show(entry)} (not a service of this task)`)
    }
  }
}
