import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { extractArchive } from '../../../src/tasks/archive.js'
import type { ArchiveLimits } from '../../../src/tasks/archive.js'
import { TaskArchiveError } from '../../../src/tasks/errors.js'
import type { TaskArchiveErrorCode } from '../../../src/tasks/errors.js'
import { asiUnixExtra, buildRawZip, pkwareUnixExtra } from '../../helpers/raw-zip.js'
import type { RawEntry } from '../../helpers/raw-zip.js'
import {
  buildZip,
  harborTask,
  listTree,
  makeTempDir,
  modeOf,
  openHandlesTo,
  removeTempDirs,
  writeZip,
} from './helpers.js'

const LIMITS: ArchiveLimits = { maxEntries: 100, maxUncompressedBytes: 1024 * 1024 }
const MiB = 1024 * 1024

afterEach(removeTempDirs)

async function newDest(): Promise<string> {
  return path.join(await makeTempDir(), 'extracted')
}

/** Extracts and expects a rejection with `code`; checks nothing is left behind and the zip is closed. */
async function expectRejected(
  zip: Buffer,
  code: TaskArchiveErrorCode,
  limits: ArchiveLimits = LIMITS,
): Promise<TaskArchiveError> {
  const zipPath = await writeZip(zip)
  const dest = await newDest()
  const error = await extractArchive(zipPath, dest, limits).then(
    () => expect.fail('expected the archive to be rejected'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TaskArchiveError)
  expect((error as TaskArchiveError).code).toBe(code)
  expect(existsSync(dest)).toBe(false)
  await expect.poll(() => openHandlesTo(zipPath)).toBe(0)
  return error as TaskArchiveError
}

function raw(entries: RawEntry[]): Buffer {
  return buildRawZip(entries)
}

const ok: RawEntry = { name: 'task.toml', data: 'x = 1\n', mode: 0o100644 }

describe('extractArchive: valid archives', () => {
  it('extracts a flat Harbor task with modes 0644/0755', async () => {
    const zipPath = await writeZip(await buildZip(harborTask()))
    const dest = await newDest()
    const result = await extractArchive(zipPath, dest, LIMITS)

    expect(result.root).toBe(dest)
    expect(result.topLevelDir).toBeNull()
    expect(result.files).toEqual([
      'environment/Dockerfile',
      'instruction.md',
      'solution/solve.sh',
      'task.toml',
      'tests/test.sh',
    ])
    const expectedBytes = Object.values(harborTask()).reduce(
      (sum, v) => sum + Buffer.byteLength(typeof v === 'string' ? v : v.data),
      0,
    )
    expect(result.totalBytes).toBe(expectedBytes)
    expect(await fs.readFile(path.join(dest, 'instruction.md'), 'utf8')).toBe('Print hello.\n')
    expect(await modeOf(path.join(dest, 'tests/test.sh'))).toBe(0o755)
    expect(await modeOf(path.join(dest, 'task.toml'))).toBe(0o644)
    expect(await modeOf(path.join(dest, 'environment'))).toBe(0o755)
    await expect.poll(() => openHandlesTo(zipPath)).toBe(0)
  })

  it('uses a single top-level folder as the root and skips macOS junk', async () => {
    const spec = {
      ...harborTask('hello/'),
      '__MACOSX/hello/._task.toml': 'junk',
      'hello/.DS_Store': 'junk',
      '.DS_Store': 'junk',
    }
    const zipPath = await writeZip(await buildZip(spec))
    const dest = await newDest()
    const result = await extractArchive(zipPath, dest, LIMITS)

    expect(result.root).toBe(path.join(dest, 'hello'))
    expect(result.topLevelDir).toBe('hello')
    expect(result.files).toContain('task.toml')
    expect(result.files).not.toContain('.DS_Store')
    expect(await listTree(dest)).not.toContain('__MACOSX/')
    expect(existsSync(path.join(dest, 'hello/.DS_Store'))).toBe(false)
  })

  it('keeps the root at the destination when there are several top-level entries', async () => {
    const zip = raw([
      { name: 'hello/', mode: 0o040755 },
      { name: 'hello/a.txt', data: 'a', mode: 0o100644 },
      { name: 'README.md', data: 'r', mode: 0o100644 },
    ])
    const dest = await newDest()
    const result = await extractArchive(await writeZip(zip), dest, LIMITS)
    expect(result.root).toBe(dest)
    expect(result.files).toEqual(['README.md', 'hello/a.txt'])
  })

  it('keeps only the executable bit of unix modes, never setuid or odd permissions', async () => {
    const zip = raw([
      { name: 'exec.sh', data: 'x', mode: 0o100775 },
      { name: 'user-exec.sh', data: 'x', mode: 0o100700 },
      { name: 'setuid', data: 'x', mode: 0o104755 },
      { name: 'private', data: 'x', mode: 0o100600 },
      { name: 'world-writable', data: 'x', mode: 0o100666 },
      { name: 'dos-file', data: 'x' },
      { name: 'weird-dir/', mode: 0o040700 },
    ])
    const dest = await newDest()
    await extractArchive(await writeZip(zip), dest, LIMITS)
    expect(await modeOf(path.join(dest, 'exec.sh'))).toBe(0o755)
    expect(await modeOf(path.join(dest, 'user-exec.sh'))).toBe(0o755)
    expect(await modeOf(path.join(dest, 'setuid'))).toBe(0o755)
    expect(await modeOf(path.join(dest, 'private'))).toBe(0o644)
    expect(await modeOf(path.join(dest, 'world-writable'))).toBe(0o644)
    expect(await modeOf(path.join(dest, 'dos-file'))).toBe(0o644)
    expect(await modeOf(path.join(dest, 'weird-dir'))).toBe(0o755)
  })

  it('normalises "./" and empty segments and accepts stored and empty files', async () => {
    const zip = raw([
      { name: './a//b.txt', data: 'b', mode: 0o100644 },
      { name: 'empty.txt', data: '', mode: 0o100644 },
    ])
    const dest = await newDest()
    const result = await extractArchive(await writeZip(zip), dest, LIMITS)
    expect(result.files).toEqual(['a/b.txt', 'empty.txt'])
    expect(await fs.readFile(path.join(dest, 'a/b.txt'), 'utf8')).toBe('b')
  })

  it('extracts into an existing empty destination', async () => {
    const dest = await makeTempDir()
    const result = await extractArchive(await writeZip(raw([ok])), dest, LIMITS)
    expect(result.files).toEqual(['task.toml'])
  })

  it('refuses a non-empty destination without touching it', async () => {
    const dest = await makeTempDir()
    await fs.writeFile(path.join(dest, 'keep.txt'), 'mine')
    const error = await extractArchive(await writeZip(raw([ok])), dest, LIMITS).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).not.toBeInstanceOf(TaskArchiveError)
    expect(await listTree(dest)).toEqual(['keep.txt'])
  })
})

describe('extractArchive: not a zip or corrupt', () => {
  it('rejects a text file as not_a_zip', async () => {
    await expectRejected(Buffer.from('hello, this is not a zip file\n'.repeat(10)), 'not_a_zip')
  })

  it('rejects an empty file as not_a_zip', async () => {
    await expectRejected(Buffer.alloc(0), 'not_a_zip')
  })

  it('rejects a truncated zip as corrupt_archive', async () => {
    const zip = await buildZip(harborTask())
    await expectRejected(zip.subarray(0, Math.floor(zip.length / 2)), 'corrupt_archive')
  })

  it('rejects a wrong CRC as corrupt_archive, removing files already written', async () => {
    const zip = raw([ok, { name: 'b.txt', data: 'hello', mode: 0o100644, crc32: 0x1234 }])
    const error = await expectRejected(zip, 'corrupt_archive')
    expect(error.message).toContain('b.txt')
  })

  it('rejects damaged deflate data as corrupt_archive', async () => {
    const zip = raw([ok, { name: 'b.txt', data: 'hello hello hello hello', deflate: true, mode: 0o100644 }])
    const start = zip.indexOf(Buffer.from('b.txt')) + 'b.txt'.length
    zip.fill(0xff, start, start + 4)
    await expectRejected(zip, 'corrupt_archive')
  })

  it('rejects an entry that inflates past its declared size', async () => {
    const bomb = Buffer.alloc(4 * MiB)
    const zip = raw([ok, { name: 'liar.bin', data: bomb, deflate: true, declaredSize: 100, mode: 0o100644 }])
    const error = await expectRejected(zip, 'corrupt_archive', { maxEntries: 10, maxUncompressedBytes: MiB })
    expect(error.message).toContain('liar.bin')
  })

  it('rejects an entry with less data than it declares', async () => {
    const zip = raw([ok, { name: 'short.bin', data: 'abc', deflate: true, declaredSize: 10, mode: 0o100644 }])
    await expectRejected(zip, 'corrupt_archive')
  })

  it('rejects an end record that promises more entries than the directory holds', async () => {
    await expectRejected(buildRawZip([ok], { entryCount: 2 }), 'corrupt_archive')
  })

  it('rejects a central directory with flipped bytes', async () => {
    const zip = await buildZip(harborTask())
    const directory = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
    zip.fill(0xff, directory, directory + 4)
    await expectRejected(zip, 'corrupt_archive')
  })
})

describe('extractArchive: unsafe paths', () => {
  const names = [
    '/etc/passwd',
    '//server/share/x',
    'C:\\Windows\\x',
    'C:/x',
    '\\\\server\\share',
    '../evil',
    'a/../../evil',
    'a/..',
    'dir\\file',
    'nul\u0000byte',
    'new\nline',
    'tab\there',
    'del\u007f',
    'c1\u0085control',
    'line\u2028separator',
    'bidi\u202eexe.txt',
    `${'a'.repeat(256)}.txt`,
    `${'dir/'.repeat(300)}x`,
  ]
  it.each(names)('rejects %j', async (name) => {
    const error = await expectRejected(raw([ok, { name, data: 'x', mode: 0o100644 }]), 'unsafe_path')
    expect(error.message).toContain(JSON.stringify(name.slice(0, 100)).slice(1, -1))
  })

  it('rejects a name that is not valid UTF-8 although flagged as such', async () => {
    const name = Buffer.from([0x61, 0xff, 0xfe, 0x62])
    await expectRejected(raw([ok, { name, data: 'x', flags: 0x0800, mode: 0o100644 }]), 'unsafe_path')
  })

  it('rejects a name that names nothing', async () => {
    await expectRejected(raw([ok, { name: './', mode: 0o040755 }]), 'unsafe_path')
  })

  it('checks names even in ignored junk folders', async () => {
    await expectRejected(raw([ok, { name: '__MACOSX/../../evil', data: 'x' }]), 'unsafe_path')
  })
})

describe('extractArchive: entry types', () => {
  it('rejects a symlink', async () => {
    const error = await expectRejected(raw([ok, { name: 'link', data: '/etc/passwd', mode: 0o120777 }]), 'symlink')
    expect(error.message).toContain('link')
  })

  it('rejects a symlink made with jszip', async () => {
    const zip = await buildZip({ 'task.toml': 'x', 'evil-link': { data: '../../etc', mode: 0o120777 } })
    await expectRejected(zip, 'symlink')
  })

  it.each([
    ['named pipe', 0o010644],
    ['character device', 0o020644],
    ['block device', 0o060644],
    ['socket', 0o140644],
  ])('rejects a %s', async (kind, mode) => {
    const error = await expectRejected(raw([ok, { name: 'special', mode }]), 'unsupported_entry')
    expect(error.message).toContain(kind)
  })

  it('rejects a hard link recorded in a PKWARE unix extra field', async () => {
    const entry = { name: 'hard', data: '', mode: 0o100644, extraFields: [pkwareUnixExtra('task.toml')] }
    const error = await expectRejected(raw([ok, entry]), 'unsupported_entry')
    expect(error.message).toContain('hard link')
  })

  it('rejects a symlink whose target is in a PKWARE unix extra field', async () => {
    const entry = { name: 'soft', data: '', mode: 0o120777, extraFields: [pkwareUnixExtra('/etc/passwd')] }
    await expectRejected(raw([ok, entry]), 'symlink')
  })

  it('accepts a PKWARE unix extra field without a target', async () => {
    const entry = { name: 'plain.txt', data: 'x', mode: 0o100644, extraFields: [pkwareUnixExtra('')] }
    const result = await extractArchive(await writeZip(raw([ok, entry])), await newDest(), LIMITS)
    expect(result.files).toEqual(['plain.txt', 'task.toml'])
  })

  it.each([
    ['a symlink target', asiUnixExtra(0o100644, '/etc/passwd'), 'symlink'],
    ['a symlink mode', asiUnixExtra(0o120777), 'symlink'],
    ['a named pipe mode', asiUnixExtra(0o010644), 'unsupported_entry'],
    ['a directory mode on a file', asiUnixExtra(0o040755), 'unsupported_entry'],
  ] as const)('rejects an ASi unix extra field with %s', async (_what, field, code) => {
    await expectRejected(raw([ok, { name: 'x', data: 'x', mode: 0o100644, extraFields: [field] }]), code)
  })

  it('rejects an unsupported compression method', async () => {
    const zip = raw([ok, { name: 'b.bz2', data: 'x', method: 12, mode: 0o100644 }])
    const error = await expectRejected(zip, 'unsupported_entry')
    expect(error.message).toContain('b.bz2')
  })

  it('rejects a directory entry with content', async () => {
    await expectRejected(raw([ok, { name: 'dir/', data: 'x', mode: 0o040755 }]), 'unsupported_entry')
  })

  it('rejects an encrypted entry', async () => {
    const error = await expectRejected(
      raw([ok, { name: 'secret.txt', data: 'x', encrypted: true, mode: 0o100644 }]),
      'encrypted_entry',
    )
    expect(error.message).toContain('secret.txt')
  })

  it('rejects strong encryption', async () => {
    const zip = raw([ok, { name: 'secret.txt', data: 'x', flags: 0x41, encrypted: true, mode: 0o100644 }])
    await expectRejected(zip, 'encrypted_entry')
  })
})

describe('extractArchive: limits', () => {
  it('rejects too many entries before extracting anything', async () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }))
    const error = await expectRejected(raw(entries), 'too_many_entries', {
      maxEntries: 4,
      maxUncompressedBytes: MiB,
    })
    expect(error.message).toContain('5')
  })

  it('accepts exactly maxEntries entries', async () => {
    const entries = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }))
    const result = await extractArchive(await writeZip(raw(entries)), await newDest(), {
      maxEntries: 4,
      maxUncompressedBytes: MiB,
    })
    expect(result.files).toHaveLength(4)
  })

  it('rejects a zip bomb from its declared size', async () => {
    const zip = raw([ok, { name: 'bomb.bin', data: Buffer.alloc(16 * MiB), deflate: true, mode: 0o100644 }])
    expect(zip.length).toBeLessThan(100 * 1024)
    await expectRejected(zip, 'too_large_uncompressed')
  })

  it('rejects an entry that expands past the compression ratio limit', async () => {
    const zip = raw([ok, { name: 'zeros.bin', data: Buffer.alloc(2 * MiB), deflate: true, mode: 0o100644 }])
    const error = await expectRejected(zip, 'zip_bomb', { maxEntries: 10, maxUncompressedBytes: 8 * MiB })
    expect(error.message).toContain('zeros.bin')
  })

  it('allows any ratio below the minimum size, and a ratio limit can be set', async () => {
    const zeros = raw([{ name: 'zeros.bin', data: Buffer.alloc(MiB - 1), deflate: true }])
    await extractArchive(await writeZip(zeros), await newDest(), LIMITS)
    const text = raw([{ name: 'text.txt', data: 'hello world\n'.repeat(1000), deflate: true }])
    const limits = { ...LIMITS, maxCompressionRatio: 5, compressionRatioMinBytes: 1000 }
    await expectRejected(text, 'zip_bomb', limits)
  })

  it('rejects entries that share their data (overlapping zip bomb)', async () => {
    const data = Buffer.alloc(100 * 1024)
    const zip = raw([
      { name: 'a.bin', data, deflate: true },
      { name: 'b.bin', data, deflate: true, sharesDataOf: 0 },
    ])
    const error = await expectRejected(zip, 'zip_bomb')
    expect(error.message).toContain('a.bin')
  })

  it('rejects files that are small alone but too large together', async () => {
    const entries = Array.from({ length: 3 }, (_, i) => ({
      name: `f${i}.bin`,
      data: Buffer.alloc(400 * 1024),
    }))
    await expectRejected(raw(entries), 'too_large_uncompressed')
  })

  it('accepts exactly maxUncompressedBytes', async () => {
    const zip = raw([{ name: 'f.bin', data: Buffer.alloc(1000), deflate: true }])
    const result = await extractArchive(await writeZip(zip), await newDest(), {
      maxEntries: 10,
      maxUncompressedBytes: 1000,
    })
    expect(result.totalBytes).toBe(1000)
  })
})

describe('extractArchive: duplicates and empties', () => {
  it.each([
    [['a.txt', 'a.txt']],
    [['a.txt', './a.txt']],
    [['dir/a.txt', 'dir//a.txt']],
    [['dir/', 'dir/']],
    [['a', 'a/b.txt']],
    [['a/b.txt', 'a']],
  ])('rejects %j', async (names) => {
    const entries = names.map((name) => (name.endsWith('/') ? { name } : { name, data: 'x' }))
    const error = await expectRejected(raw(entries), 'duplicate_entry')
    expect(error.message).toContain(names[1])
  })

  it('rejects an archive with no entries', async () => {
    await expectRejected(raw([]), 'empty_archive')
  })

  it('rejects an archive with only directories', async () => {
    await expectRejected(raw([{ name: 'a/', mode: 0o040755 }, { name: 'a/b/' }]), 'empty_archive')
  })

  it('rejects an archive with only macOS junk', async () => {
    const zip = raw([
      { name: '.DS_Store', data: 'x' },
      { name: '__MACOSX/._x', data: 'x' },
    ])
    await expectRejected(zip, 'empty_archive')
  })
})

describe('extractArchive: archives inside the archive', () => {
  it('keeps them as plain files, unopened', async () => {
    const inner = await buildZip({ '../../evil.txt': 'x' })
    const zip = raw([ok, { name: 'environment/task-deps/data.zip', data: inner, mode: 0o100644 }])
    const dest = await newDest()
    const result = await extractArchive(await writeZip(zip), dest, LIMITS)
    expect(result.files).toEqual(['environment/task-deps/data.zip', 'task.toml'])
    expect(await fs.readFile(path.join(dest, 'environment/task-deps/data.zip'))).toEqual(inner)
  })
})

describe('extractArchive: clean-up', () => {
  it('removes parent directories it created when extraction fails', async () => {
    const base = await makeTempDir()
    const dest = path.join(base, 'x', 'y', 'z')
    const zip = raw([ok, { name: 'bad.txt', data: 'hello', crc32: 1 }])
    await expect(extractArchive(await writeZip(zip), dest, LIMITS)).rejects.toThrow(TaskArchiveError)
    expect(await fs.readdir(base)).toEqual([])
  })

  it('empties an existing destination again when extraction fails', async () => {
    const dest = await makeTempDir()
    const zip = raw([
      { name: 'd/ok.txt', data: 'fine' },
      { name: 'd/bad.txt', data: 'hello', crc32: 1 },
    ])
    await expect(extractArchive(await writeZip(zip), dest, LIMITS)).rejects.toMatchObject({
      code: 'corrupt_archive',
    })
    expect(await fs.readdir(dest)).toEqual([])
  })

  it('streams large files without issue', async () => {
    const big = randomBytes(3 * MiB)
    const zip = raw([{ name: 'big.bin', data: big, deflate: true }])
    const dest = await newDest()
    const limits = { maxEntries: 10, maxUncompressedBytes: 4 * MiB }
    const result = await extractArchive(await writeZip(zip), dest, limits)
    expect(result.totalBytes).toBe(big.length)
    expect(zlib.crc32(await fs.readFile(path.join(dest, 'big.bin')))).toBe(zlib.crc32(big))
  })
})
