/**
 * Files below a local directory (the local host's work dir) read without ever following a symbolic
 * link, and copied out the same way: what a harness leaves there is not trusted (see
 * execution-host.ts). `safe_files.py` does the same on SSH hosts.
 *
 * How: the path is walked one component at a time from the root, each opened relative to its
 * parent's descriptor (`/proc/self/fd/<parent>/<name>`, Node having no `openat`) with `O_NOFOLLOW`
 * and Linux's `O_PATH`, which names a file without opening it. A link is then seen as a link (and
 * refused) whether it is the last component or a directory on the way; and only once `fstat` on that
 * descriptor says "regular file" is the file opened for reading, through the same descriptor, so a
 * FIFO or a device is never opened, and nothing can be swapped in between the check and the read.
 */
import fs, { constants, promises as fsp } from 'node:fs'
import path from 'node:path'
import { MAX_REPORTED, RefusedPathError, type CopyLimits, type CopyReport, type LeftOutWhy } from './execution-host.js'

/** Linux's O_PATH, which Node's constants lack (the same value on x86-64 and arm64). */
const O_PATH = 0o10000000
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = constants
const COPY_CHUNK_BYTES = 1024 * 1024

/** An `O_PATH` descriptor (closed by the caller) and what it names. */
interface Found {
  fd: number
  stats: fs.Stats
}

const viaFd = (fd: number, name?: string) =>
  name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`

function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.includes('..')) throw new Error(`path ${rel} leaves the directory it is read below`)
  return parts
}

/**
 * `rel` below `root`, reached without following a link; null if it (or a directory on the way) does
 * not exist. Throws {@link RefusedPathError} for a link met on the way or at the end, or a special
 * file on the way. `root` itself is trusted (it may be reached through links).
 */
export function findBelow(root: string, rel: string): Found | null {
  const parts = components(rel)
  let fd = fs.openSync(root, O_PATH | O_DIRECTORY)
  try {
    for (const [i, part] of parts.entries()) {
      let next: number
      try {
        next = fs.openSync(viaFd(fd, part), O_PATH | O_NOFOLLOW)
      } catch (err) {
        if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return null
        throw err
      }
      fs.closeSync(fd)
      fd = next
      const stats = fs.fstatSync(fd)
      if (stats.isSymbolicLink()) throw new RefusedPathError(rel, 'link')
      if (i < parts.length - 1 && !stats.isDirectory()) {
        if (stats.isFile()) return null
        throw new RefusedPathError(rel, 'special')
      }
    }
    const found = { fd, stats: fs.fstatSync(fd) }
    fd = -1
    return found
  } finally {
    if (fd >= 0) fs.closeSync(fd)
  }
}

function withFound<T>(root: string, rel: string, onMissing: T, use: (found: Found) => T): T {
  const found = findBelow(root, rel)
  if (!found) return onMissing
  try {
    return use(found)
  } finally {
    fs.closeSync(found.fd)
  }
}

function regular(rel: string, found: Found): void {
  if (!found.stats.isFile()) throw new RefusedPathError(rel, 'special')
}

/** Up to `maxBytes` of regular file `rel` below `root` from `offset`; null if it does not exist. */
export function readBelow(root: string, rel: string, offset: number, maxBytes: number): Buffer | null {
  return withFound(root, rel, null, (found) => {
    regular(rel, found)
    const want = Math.min(maxBytes, found.stats.size - offset)
    if (want <= 0) return Buffer.alloc(0)
    // Opened through the descriptor that was checked: the same inode, a regular file.
    const fd = fs.openSync(viaFd(found.fd), O_RDONLY)
    try {
      const buffer = Buffer.allocUnsafe(want)
      const bytesRead = fs.readSync(fd, buffer, 0, want, offset)
      return bytesRead === want ? buffer : Buffer.from(buffer.subarray(0, bytesRead))
    } finally {
      fs.closeSync(fd)
    }
  })
}

/** The size of regular file `rel` below `root`; null if it does not exist. */
export function sizeBelow(root: string, rel: string): number | null {
  return withFound(root, rel, null, (found) => {
    regular(rel, found)
    return found.stats.size
  })
}

/** Up to `limit` entries of directory `rel` below `root`, sorted; none if it is missing or a file. */
export function listBelow(root: string, rel: string, limit = Infinity): string[] {
  return withFound(root, rel, [], (found) => {
    if (!found.stats.isDirectory()) {
      if (found.stats.isFile()) return []
      throw new RefusedPathError(rel, 'special')
    }
    const names: string[] = []
    const dir = fs.opendirSync(viaFd(found.fd))
    try {
      for (let entry = dir.readSync(); entry && names.length < limit; entry = dir.readSync()) names.push(entry.name)
    } finally {
      dir.closeSync()
    }
    return names.sort()
  })
}

/** A new, empty report. */
export function emptyReport(): CopyReport {
  return { files: 0, bytes: 0, leftOut: [], leftOutCount: 0, stoppedAt: null }
}

function leaveOut(report: CopyReport, file: string, why: LeftOutWhy): void {
  report.leftOutCount++
  if (report.leftOut.length < MAX_REPORTED) report.leftOut.push({ path: file, why })
}

/** The mode a copied file gets: readable by all, executable if it was; never setuid, setgid or sticky. */
export const fileMode = (mode: number) => (mode & 0o111 ? 0o755 : 0o644)
const DIR_MODE = 0o755

/**
 * Copies directory `rel` below `root` into `localDir` (see `ExecutionHost.getDirectory`): breadth
 * first, so that the files near the top (a trial's result.json) come before a flood of files deeper
 * down, and within `limits` as it goes. Rejects with code ENOENT if `rel` does not exist.
 */
export async function copyBelow(root: string, rel: string, localDir: string, limits: CopyLimits): Promise<CopyReport> {
  const top = findBelow(root, rel)
  if (!top) throw Object.assign(new Error(`${rel} does not exist`), { code: 'ENOENT' })
  fs.closeSync(top.fd)
  if (!top.stats.isDirectory()) throw new RefusedPathError(rel, 'special')
  await fsp.mkdir(localDir, { recursive: true })
  const report = emptyReport()
  let looked = 0
  const queue = ['']
  while (queue.length > 0 && report.stoppedAt === null) {
    const sub = queue.shift()!
    let dir: Found | null
    try {
      dir = findBelow(root, path.posix.join(rel, sub))
    } catch (err) {
      // Swapped for a link since it was seen as a directory.
      if (!(err instanceof RefusedPathError)) throw err
      leaveOut(report, sub, err.kind)
      continue
    }
    if (!dir) continue
    try {
      const entries = fs.opendirSync(viaFd(dir.fd))
      try {
        for (let entry = entries.readSync(); entry; entry = entries.readSync()) {
          if (looked >= limits.maxFiles) {
            report.stoppedAt = looked
            break
          }
          looked++
          const name = sub ? `${sub}/${entry.name}` : entry.name
          await copyEntry(dir.fd, entry.name, name, path.join(localDir, name), limits, report, queue)
        }
      } finally {
        entries.closeSync()
      }
    } finally {
      fs.closeSync(dir.fd)
    }
  }
  return report
}

/** One entry of an open directory: a directory made (and queued), a regular file copied, else left out. */
async function copyEntry(
  dirFd: number,
  entry: string,
  name: string,
  target: string,
  limits: CopyLimits,
  report: CopyReport,
  queue: string[],
): Promise<void> {
  let fd: number
  try {
    fd = fs.openSync(viaFd(dirFd, entry), O_PATH | O_NOFOLLOW)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  try {
    const stats = fs.fstatSync(fd)
    if (stats.isDirectory()) {
      await fsp.mkdir(target, { mode: DIR_MODE })
      queue.push(name)
    } else if (stats.isSymbolicLink()) leaveOut(report, name, 'link')
    else if (!stats.isFile()) leaveOut(report, name, 'special')
    else if (stats.size > limits.maxFileBytes) leaveOut(report, name, 'too large')
    else if (report.bytes + stats.size > limits.maxBytes) leaveOut(report, name, 'over the byte limit')
    else {
      report.bytes += await copyFile(fd, stats, target)
      report.files++
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** Copies the regular file behind `fd` (at most the size it had when checked); returns the bytes copied. */
async function copyFile(fd: number, stats: fs.Stats, target: string): Promise<number> {
  const source = await fsp.open(viaFd(fd), O_RDONLY)
  try {
    const out = await fsp.open(target, 'wx', fileMode(stats.mode))
    try {
      const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(1, stats.size)))
      let copied = 0
      while (copied < stats.size) {
        const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, stats.size - copied), copied)
        if (bytesRead === 0) break
        await out.write(buffer, 0, bytesRead)
        copied += bytesRead
      }
      await out.utimes(stats.atime, stats.mtime)
      return copied
    } finally {
      await out.close()
    }
  } finally {
    await source.close()
  }
}

/**
 * Leaves only regular files and directories below local directory `dir`, with plain modes (no
 * setuid, setgid or sticky bit): what was copied from a host is checked again here, whatever copied
 * it. Never follows a link (it removes it). Returns the relative paths removed.
 */
export async function sanitizeTree(dir: string): Promise<string[]> {
  const removed: string[] = []
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const file = path.join(entry.parentPath, entry.name)
    const stats = await fsp.lstat(file).catch(() => null)
    if (!stats) continue
    if (stats.isDirectory()) await fsp.chmod(file, DIR_MODE)
    else if (stats.isFile()) await fsp.chmod(file, fileMode(stats.mode))
    else {
      await fsp.rm(file, { force: true })
      removed.push(path.relative(dir, file).split(path.sep).join('/'))
    }
  }
  return removed
}
