/** Shared helpers for the task tests: temp dirs, zips built with jszip, and task file sets. */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ZipSpec } from '../../helpers/task-zips.js'

export { buildZip, harborTask, terminalBenchTask, type ZipFileSpec, type ZipSpec } from '../../helpers/task-zips.js'

const tempDirs: string[] = []

/** A fresh temp directory, removed by `removeTempDirs()`. */
export async function makeTempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasks-test-'))
  tempDirs.push(dir)
  return dir
}

export async function removeTempDirs(): Promise<void> {
  const dirs = tempDirs.splice(0)
  await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })))
}

/** Writes `bytes` as a zip file in a new temp dir; returns its path. */
export async function writeZip(bytes: Buffer, name = 'upload.zip'): Promise<string> {
  const file = path.join(await makeTempDir(), name)
  await fs.writeFile(file, bytes)
  return file
}

/** Writes a spec as plain files under `root` (for tests that need no zip). */
export async function writeTree(root: string, spec: ZipSpec): Promise<void> {
  for (const [name, value] of Object.entries(spec)) {
    const file = typeof value === 'string' ? { data: value } : value
    const target = path.join(root, name)
    await fs.mkdir(path.dirname(target), { recursive: true })
    await fs.writeFile(target, file.data)
    await fs.chmod(target, file.mode ?? 0o644)
  }
}

/** Everything under `dir` as sorted relative paths (directories with a trailing slash). */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .map((e) => {
      const rel = path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')
      return e.isDirectory() ? `${rel}/` : rel
    })
    .sort()
}

export async function modeOf(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o7777
}

/** How many of this process's file descriptors point at `file` (Linux only; 0 elsewhere). */
export async function openHandlesTo(file: string): Promise<number> {
  if (!existsSync('/proc/self/fd')) return 0
  const fds = await fs.readdir('/proc/self/fd')
  const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')))
  return targets.filter((target) => target === file).length
}
