import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { extractArchive } from '../../../src/tasks/archive.js'
import { computeTreeHash, removeStoredTask, storedTaskDir, storeTask } from '../../../src/tasks/task-store.js'
import { buildZip, harborTask, listTree, makeTempDir, modeOf, removeTempDirs, writeTree, writeZip } from './helpers.js'
import type { ZipSpec } from './helpers.js'

afterEach(removeTempDirs)

const LIMITS = { maxEntries: 100, maxUncompressedBytes: 1e6 }

async function extract(spec: ZipSpec, order?: string[]): Promise<string> {
  const zipPath = await writeZip(await buildZip(spec, order))
  const { root } = await extractArchive(zipPath, path.join(await makeTempDir(), 'x'), LIMITS)
  return root
}

async function treeOf(spec: ZipSpec): Promise<string> {
  const root = await makeTempDir()
  await writeTree(root, spec)
  return root
}

describe('computeTreeHash', () => {
  it('is the same for the same content zipped in a different order', async () => {
    const spec = harborTask()
    const names = Object.keys(spec)
    const a = await extract(spec, names)
    const b = await extract(spec, [...names].reverse())
    const hash = await computeTreeHash(a)
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(await computeTreeHash(b)).toBe(hash)
  })

  it('ignores the single top-level folder name and empty directories', async () => {
    const flat = await extract(harborTask())
    const nested = await extract(harborTask('some-folder/'))
    await fs.mkdir(path.join(nested, 'empty'))
    expect(await computeTreeHash(nested)).toBe(await computeTreeHash(flat))
  })

  it('changes when one byte changes', async () => {
    const spec = harborTask()
    const before = await computeTreeHash(await treeOf(spec))
    const after = await computeTreeHash(await treeOf({ ...spec, 'instruction.md': 'Print hellO.\n' }))
    expect(after).not.toBe(before)
  })

  it('changes when an executable bit changes, but not for other mode bits', async () => {
    const root = await treeOf(harborTask())
    const before = await computeTreeHash(root)
    await fs.chmod(path.join(root, 'instruction.md'), 0o744)
    const executable = await computeTreeHash(root)
    expect(executable).not.toBe(before)
    await fs.chmod(path.join(root, 'instruction.md'), 0o600)
    expect(await computeTreeHash(root)).toBe(before)
  })

  it('changes when a file is renamed or moved', async () => {
    const spec = harborTask()
    const before = await computeTreeHash(await treeOf(spec))
    const moved: ZipSpec = { ...spec, 'docs/instruction.md': 'Print hello.\n' }
    delete moved['instruction.md']
    expect(await computeTreeHash(await treeOf(moved))).not.toBe(before)
  })

  it('does not confuse file boundaries', async () => {
    const a = await computeTreeHash(await treeOf({ ab: 'c' }))
    const b = await computeTreeHash(await treeOf({ a: 'bc' }))
    expect(a).not.toBe(b)
  })

  it('refuses symlinks', async () => {
    const root = await treeOf({ 'a.txt': 'a' })
    await fs.symlink('a.txt', path.join(root, 'link'))
    await expect(computeTreeHash(root)).rejects.toThrow(/link/)
  })
})

describe('storeTask', () => {
  it('moves the tree into <storeDir>/<sha256> keeping modes', async () => {
    const storeDir = path.join(await makeTempDir(), 'store')
    const root = await extract(harborTask('hello/'))
    const hash = await computeTreeHash(root)

    const stored = await storeTask(storeDir, root)
    expect(stored).toEqual({ sha256: hash, dir: path.join(storeDir, hash), created: true })
    expect(existsSync(root)).toBe(false)
    expect(await listTree(stored.dir)).toContain('tests/test.sh')
    expect(await modeOf(path.join(stored.dir, 'tests/test.sh'))).toBe(0o755)
    expect(await modeOf(stored.dir)).toBe(0o755)
    expect(await computeTreeHash(stored.dir)).toBe(hash)
  })

  it('is idempotent: the same content again is discarded with created=false', async () => {
    const storeDir = path.join(await makeTempDir(), 'store')
    const first = await storeTask(storeDir, await extract(harborTask()))
    const secondRoot = await extract(harborTask('other-name/'))
    const second = await storeTask(storeDir, secondRoot)

    expect(second).toEqual({ ...first, created: false })
    expect(existsSync(secondRoot)).toBe(false)
    expect(await fs.readdir(storeDir)).toEqual([first.sha256])
  })

  it('lets exactly one of two concurrent stores of the same content create it', async () => {
    const storeDir = path.join(await makeTempDir(), 'store')
    const roots = await Promise.all([extract(harborTask()), extract(harborTask())])
    const results = await Promise.all(roots.map((root) => storeTask(storeDir, root)))
    expect(results.map((r) => r.created).sort()).toEqual([false, true])
    expect(await fs.readdir(storeDir)).toEqual([results[0]?.sha256])
  })

  it('stores different content side by side', async () => {
    const storeDir = path.join(await makeTempDir(), 'store')
    const a = await storeTask(storeDir, await extract(harborTask()))
    const b = await storeTask(storeDir, await extract({ ...harborTask(), 'instruction.md': 'Other.\n' }))
    expect(b.sha256).not.toBe(a.sha256)
    expect((await fs.readdir(storeDir)).sort()).toEqual([a.sha256, b.sha256].sort())
  })
})

describe('removeStoredTask', () => {
  it('removes a stored task, leaving nothing behind', async () => {
    const storeDir = path.join(await makeTempDir(), 'store')
    const stored = await storeTask(storeDir, await extract(harborTask()))
    expect(await removeStoredTask(storeDir, stored.sha256)).toBe(true)
    expect(await fs.readdir(storeDir)).toEqual([])
    expect(await removeStoredTask(storeDir, stored.sha256)).toBe(false)
  })

  it('refuses anything that is not a hash', async () => {
    const storeDir = await makeTempDir()
    await expect(removeStoredTask(storeDir, '../etc')).rejects.toThrow(/Not a task hash/)
    expect(() => storedTaskDir(storeDir, 'A'.repeat(64))).toThrow(/Not a task hash/)
    expect(storedTaskDir(storeDir, 'a'.repeat(64))).toBe(path.join(storeDir, 'a'.repeat(64)))
  })
})
