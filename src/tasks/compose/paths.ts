/**
 * Lexical path checks for the compose policy (nothing on disk is looked at): whether a path stays in
 * the compose file's folder, and whether a host path reaches a container engine's socket.
 */
import path from 'node:path'

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
// A remote build context (`https://…`, `git://…`, `git@host:…`): fetched from wherever it points.
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^git@/

/**
 * Whether `value`, a relative path as Compose resolves it (from the compose file's folder), stays in
 * that folder. Refused: absolute paths, `~`, Windows drives and separators, URLs, `..` climbing out,
 * and any `$` (an interpolated path could be anything).
 */
export function staysInFolder(value: string): boolean {
  if (CONTROL.test(value) || value.includes('$') || value.includes('\\')) return false
  if (value.startsWith('/') || value.startsWith('~') || /^[A-Za-z]:/.test(value) || URL_LIKE.test(value)) return false
  const normal = path.posix.normalize(value === '' ? '.' : value)
  return normal !== '..' && !normal.startsWith('../')
}

// Sockets that give control of the engine, and so of the host.
const ENGINE_SOCKETS = [
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/var/run/containerd/containerd.sock',
  '/run/containerd/containerd.sock',
  '/var/run/podman/podman.sock',
  '/run/podman/podman.sock',
]
const SOCKET_NAME = /docker\.sock|containerd\.sock|podman\.sock|docker_engine/i

/** Whether a host path is a container engine's socket (by name anywhere), or a folder above one. */
export function reachesEngineSocket(hostPath: string): boolean {
  if (SOCKET_NAME.test(hostPath)) return true
  const slashed = hostPath.replace(/\\/g, '/')
  if (!slashed.startsWith('/')) return false
  const normal = path.posix.normalize(slashed).replace(/\/+$/, '')
  return ENGINE_SOCKETS.some((socket) => socket === normal || socket.startsWith(`${normal}/`))
}
