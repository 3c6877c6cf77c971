/**
 * Content-addressed storage of task trees: each accepted task lives, read-only by convention, in
 * `<storeDir>/<sha256>/`, where the hash covers file paths, contents and executable bits. The same
 * task uploaded twice is stored once.
 *
 * Writes are atomic: a tree is staged under `<storeDir>/.tmp-<random>` and renamed into place, so a
 * directory named by a hash is always complete. A crash can leave `.tmp-*` directories behind; they
 * are never read and are safe to delete.
 */
import crypto from 'node:crypto'
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

export interface StoredTask {
  /** The tree hash, lowercase hex. */
  readonly sha256: string
  /** Absolute directory holding the task: `<storeDir>/<sha256>`. */
  readonly dir: string
  /** `false` when the store already held this content and the new copy was discarded. */
  readonly created: boolean
}

interface TreeFile {
  readonly relPath: string
  readonly absPath: string
  readonly executable: boolean
}

const TREE_HASH_HEADER = 'harbor-runner-tree-v1\n'
const SHA256_HEX = /^[0-9a-f]{64}$/
const STAGING_PREFIX = '.tmp-'
const DIR_MODE = 0o755

/**
 * The SHA-256 (hex) of a canonical listing of the regular files under `root`: for each file, sorted by
 * the UTF-8 bytes of its relative posix path, the path, whether it is executable (any x bit) and the
 * SHA-256 of its content. Timestamps, other mode bits and empty directories do not count. Contents are
 * streamed. Throws a plain error on a symlink or special file: extracted trees never contain one.
 */
export async function computeTreeHash(root: string): Promise<string> {
  const files = await listFiles(path.resolve(root))
  const tree = crypto.createHash('sha256').update(TREE_HASH_HEADER)
  for (const file of files) {
    const digest = await hashFile(file.absPath)
    // Paths cannot contain NUL, and what follows it has a fixed shape: the listing is unambiguous.
    tree.update(`${file.relPath}\0${file.executable ? '755' : '644'} ${digest}\n`)
  }
  return tree.digest('hex')
}

async function listFiles(root: string): Promise<TreeFile[]> {
  const files: TreeFile[] = []
  await walk(root, '', files)
  return files.sort((a, b) => Buffer.compare(Buffer.from(a.relPath), Buffer.from(b.relPath)))
}

async function walk(absDir: string, relDir: string, out: TreeFile[]): Promise<void> {
  for (const dirent of await fs.readdir(absDir, { withFileTypes: true })) {
    const absPath = path.join(absDir, dirent.name)
    const relPath = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`
    if (dirent.isDirectory()) {
      await walk(absPath, relPath, out)
    } else if (dirent.isFile()) {
      const { mode } = await fs.lstat(absPath)
      out.push({ relPath, absPath, executable: (mode & 0o111) !== 0 })
    } else {
      throw new Error(`computeTreeHash: ${relPath} is neither a regular file nor a directory`)
    }
  }
}

async function hashFile(absPath: string): Promise<string> {
  const hash = crypto.createHash('sha256')
  for await (const chunk of createReadStream(absPath)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Moves the tree at `root` into the store under its tree hash. `root` is consumed: it is moved (renamed,
 * or copied then removed when the store is on another device) or, when the store already holds the
 * same content, simply removed. Safe against concurrent stores of the same content: exactly one of
 * them reports `created: true`. `root` must not be inside `storeDir`. `treeHash` is the tree's
 * {@link computeTreeHash}, when the caller has just computed it (e.g. to lock the stored task first).
 */
export async function storeTask(storeDir: string, root: string, treeHash?: string): Promise<StoredTask> {
  const store = path.resolve(storeDir)
  const source = path.resolve(root)
  const sha256 = treeHash ?? (await computeTreeHash(source))
  const dir = path.join(store, sha256)
  await fs.mkdir(store, { recursive: true })
  if (await exists(dir)) {
    await fs.rm(source, { recursive: true, force: true })
    return { sha256, dir, created: false }
  }
  const staging = await stage(store, source, sha256)
  try {
    await fs.rename(staging, dir)
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true })
    if (hasCode(error, 'ENOTEMPTY', 'EEXIST')) return { sha256, dir, created: false }
    throw error
  }
  return { sha256, dir, created: true }
}

/** Moves `source` to a fresh staging directory in the store; returns its path. */
async function stage(store: string, source: string, sha256: string): Promise<string> {
  const staging = path.join(store, `${STAGING_PREFIX}${crypto.randomUUID()}`)
  try {
    await fs.rename(source, staging)
  } catch (error) {
    if (!hasCode(error, 'EXDEV')) throw error
    await copyAcrossDevices(source, staging, sha256)
  }
  await fs.chmod(staging, DIR_MODE)
  return staging
}

async function copyAcrossDevices(source: string, staging: string, sha256: string): Promise<void> {
  try {
    await fs.cp(source, staging, { recursive: true, errorOnExist: true, force: false })
    const copied = await computeTreeHash(staging)
    if (copied !== sha256) throw new Error(`storeTask: the copy of ${source} does not match its hash`)
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true })
    throw error
  }
  await fs.rm(source, { recursive: true, force: true })
}

/** `<storeDir>/<sha256>`. Throws when `sha256` is not 64 lowercase hex digits. */
export function storedTaskDir(storeDir: string, sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`Not a task hash: ${JSON.stringify(sha256)}`)
  return path.join(path.resolve(storeDir), sha256)
}

/**
 * Removes a stored task. Other jobs may share it: call it only where they cannot reference it
 * meanwhile (src/db/task-refs.ts). The directory is first renamed away, so it is never seen
 * half-deleted under its hash. Returns `false` when there was nothing to remove.
 */
export async function removeStoredTask(storeDir: string, sha256: string): Promise<boolean> {
  const dir = storedTaskDir(storeDir, sha256)
  const trash = path.join(path.dirname(dir), `${STAGING_PREFIX}${crypto.randomUUID()}`)
  try {
    await fs.rename(dir, trash)
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false
    throw error
  }
  await fs.rm(trash, { recursive: true, force: true })
  return true
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p)
    return true
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false
    throw error
  }
}

function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code
  return code !== undefined && codes.includes(code)
}
