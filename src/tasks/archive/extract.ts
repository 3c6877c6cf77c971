/**
 * The second pass: each planned entry streamed to disk below the destination (directories 0755,
 * files 0644 or 0755, never over anything, never through a link), its bytes counted against its
 * declared size and the archive's budget and its CRC-32 checked, since both can lie.
 */
import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import type { ZipFile } from 'yauzl'
import { TaskArchiveError } from '../errors.js'
import { ancestors, DIR_MODE, type PlannedEntry } from './entries.js'
import { corrupt, entryError, isSystemError, messageOf, quote, tooLarge } from './entry-errors.js'
import type { ArchiveLimits } from './limits.js'

export interface ExtractedArchive {
  /** Absolute path of the task root: the destination, or its single top-level folder. */
  readonly root: string
  /** Regular files under `root`, as relative posix paths, sorted. */
  readonly files: string[]
  /** Bytes written, summed over all files. */
  readonly totalBytes: number
  /** Name of the single top-level folder that became `root`, or `null` when `root` is the destination. */
  readonly topLevelDir: string | null
}

/**
 * Creates `dest` (or checks that it is empty) and returns how to put it back as it was.
 * Throws a plain error when `dest` already has content: that is the caller's mistake.
 */
export async function prepareDestination(dest: string): Promise<() => Promise<void>> {
  const firstCreated = await fs.mkdir(dest, { recursive: true })
  if (firstCreated !== undefined) return () => fs.rm(firstCreated, { recursive: true, force: true })
  const existing = await fs.readdir(dest)
  if (existing.length > 0) throw new Error(`extractArchive: destination ${dest} is not empty`)
  return async () => {
    const children = await fs.readdir(dest)
    const remove = (child: string) => fs.rm(path.join(dest, child), { recursive: true, force: true })
    await Promise.all(children.map(remove))
  }
}

/** Second pass: writes every planned entry; returns the bytes written. */
export async function writeEntries(
  zipfile: ZipFile,
  plan: PlannedEntry[],
  dest: string,
  limits: ArchiveLimits,
): Promise<number> {
  const dirs = new DirectoryMaker(dest)
  const budget = { written: 0, limit: limits.maxUncompressedBytes }
  for (const planned of plan) {
    const target = resolveInside(dest, planned)
    if (planned.kind === 'directory') {
      await dirs.ensure(planned.path)
      continue
    }
    await dirs.ensure(path.posix.dirname(planned.path))
    await writeFile(zipfile, planned, target, budget)
  }
  return budget.written
}

/** Belt and braces: the joined path must still be strictly inside `dest`. */
function resolveInside(dest: string, planned: PlannedEntry): string {
  const target = path.resolve(dest, ...planned.path.split('/'))
  const rel = path.relative(dest, target)
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw entryError('unsafe_path', planned.name, 'resolves outside the task directory')
  }
  return target
}

/** Creates directories one level at a time, each 0755, remembering which exist. */
class DirectoryMaker {
  private readonly made = new Set<string>(['.'])

  constructor(private readonly dest: string) {}

  async ensure(relDir: string): Promise<void> {
    if (this.made.has(relDir)) return
    for (const dir of [...ancestors(relDir), relDir]) {
      if (this.made.has(dir)) continue
      const abs = path.join(this.dest, ...dir.split('/'))
      await fs.mkdir(abs, { mode: DIR_MODE })
      await fs.chmod(abs, DIR_MODE)
      this.made.add(dir)
    }
  }
}

interface ByteBudget {
  written: number
  readonly limit: number
}

async function writeFile(zipfile: ZipFile, planned: PlannedEntry, target: string, budget: ByteBudget) {
  try {
    const source = await zipfile.openReadStreamPromise(planned.entry)
    // 'wx' is O_CREAT | O_EXCL: never overwrites, never follows a link.
    const sink = createWriteStream(target, { flags: 'wx', mode: planned.mode })
    await pipeline(source, meter(planned, budget), sink)
  } catch (error) {
    if (error instanceof TaskArchiveError || isSystemError(error)) throw error
    throw new TaskArchiveError(
      'corrupt_archive',
      `Entry ${quote(planned.name)} could not be extracted: ${messageOf(error)}`,
    )
  }
  await fs.chmod(target, planned.mode)
}

/** Counts bytes against the entry's declared size and the archive's budget, and checks the CRC-32. */
function meter(planned: PlannedEntry, budget: ByteBudget): Transform {
  const { entry, name } = planned
  let bytes = 0
  let crc = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      budget.written += chunk.length
      if (budget.written > budget.limit) return done(tooLarge({ maxUncompressedBytes: budget.limit }))
      if (bytes > entry.uncompressedSize) return done(corrupt(name, 'holds more data than it declares'))
      crc = zlib.crc32(chunk, crc)
      done(null, chunk)
    },
    flush(done) {
      if (bytes !== entry.uncompressedSize) return done(corrupt(name, 'holds less data than it declares'))
      if (crc !== entry.crc32) return done(corrupt(name, 'fails its CRC-32 check'))
      done()
    },
  })
}

export function summarise(dest: string, plan: PlannedEntry[], totalBytes: number): ExtractedArchive {
  const topLevelDir = singleTopLevelDir(plan)
  const prefix = topLevelDir === null ? '' : `${topLevelDir}/`
  const files = plan
    .filter((p) => p.kind === 'file')
    .map((p) => p.path.slice(prefix.length))
    .sort()
  const root = topLevelDir === null ? dest : path.join(dest, topLevelDir)
  return { root, files, totalBytes, topLevelDir }
}

/** The one folder everything sits in, if there is such a folder. */
function singleTopLevelDir(plan: PlannedEntry[]): string | null {
  const first = plan[0]?.path.split('/')[0]
  if (first === undefined) return null
  const inside = (p: PlannedEntry) => p.path.startsWith(`${first}/`) || (p.path === first && p.kind === 'directory')
  return plan.every(inside) ? first : null
}
