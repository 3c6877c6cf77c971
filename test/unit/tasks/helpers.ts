/** Shared helpers for the task tests: temp dirs, zips built with jszip, and task file sets. */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import JSZip from 'jszip'

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

export interface ZipFileSpec {
  readonly data: string | Buffer
  /** Unix permission bits (and type bits for symlinks), e.g. 0o755. */
  readonly mode?: number
}

export type ZipSpec = Record<string, string | ZipFileSpec>

/** Builds a deflated zip with jszip, marked as made on UNIX so modes are kept; keys in insertion order. */
export async function buildZip(spec: ZipSpec, order?: string[]): Promise<Buffer> {
  const zip = new JSZip()
  for (const name of order ?? Object.keys(spec)) {
    const value = spec[name]
    if (value === undefined) throw new Error(`no such file in spec: ${name}`)
    const file = typeof value === 'string' ? { data: value } : value
    zip.file(name, file.data, { unixPermissions: file.mode ?? 0o644, createFolders: false })
  }
  return zip.generateAsync({ type: 'nodebuffer', platform: 'UNIX', compression: 'DEFLATE' })
}

/** Writes `bytes` as a zip file in a new temp dir; returns its path. */
export async function writeZip(bytes: Buffer, name = 'upload.zip'): Promise<string> {
  const file = path.join(await makeTempDir(), name)
  await fs.writeFile(file, bytes)
  return file
}

/** A minimal valid Harbor task, optionally under a folder prefix such as `hello/`. */
export function harborTask(prefix = '', taskToml = '[task]\nname = "hello-world"\n'): ZipSpec {
  return {
    [`${prefix}task.toml`]: taskToml,
    [`${prefix}instruction.md`]: 'Print hello.\n',
    [`${prefix}environment/Dockerfile`]: 'FROM ubuntu:24.04\n',
    [`${prefix}tests/test.sh`]: { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
    [`${prefix}solution/solve.sh`]: { data: '#!/bin/sh\necho hello\n', mode: 0o755 },
  }
}

/** A minimal valid Terminal-Bench 1 task. */
export function terminalBenchTask(prefix = ''): ZipSpec {
  return {
    [`${prefix}task.yaml`]: 'instruction: Print hello.\n',
    [`${prefix}Dockerfile`]: 'FROM ubuntu:24.04\n',
    [`${prefix}docker-compose.yaml`]: 'services: {}\n',
    [`${prefix}run-tests.sh`]: { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
    [`${prefix}solution.sh`]: { data: '#!/bin/sh\necho hello\n', mode: 0o755 },
    [`${prefix}tests/test_outputs.py`]: 'def test_ok():\n    pass\n',
  }
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
