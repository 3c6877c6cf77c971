/**
 * Safe extraction of an uploaded task archive (a zip file on disk, untrusted).
 *
 * Two passes over the zip. The first reads only the central directory and rejects the archive before
 * anything touches the disk: too many entries, unsafe names, links and special files, encryption,
 * duplicates, declared sizes over the limit, and zip bombs (an entry that expands too many times its
 * compressed size, entries that share their data). The second streams each entry to disk, counting
 * bytes and checking CRCs, because declared sizes and checksums can lie. Any failure removes everything
 * that was written, so a rejected upload leaves the destination as it was.
 *
 * Archives inside the archive (a `.zip`, `.tar.gz` or `.7z` among the task's files) are kept as plain
 * files and never opened here: real tasks ship them as data for the agent (Terminal-Bench's
 * crack-7z-hash has `secrets.7z`), and whatever they hold only ever expands inside the task's container.
 */
import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import yauzl from 'yauzl'
import type { Entry, ZipFile } from 'yauzl'
import { TaskArchiveError } from './errors.js'
import type { TaskArchiveErrorCode } from './errors.js'

export interface ArchiveLimits {
  /** Most entries (files, directories and ignored junk alike) the central directory may list. */
  readonly maxEntries: number
  /** Most bytes the extracted files may add up to. */
  readonly maxUncompressedBytes: number
  /** Most times an entry may expand its compressed size; {@link DEFAULT_MAX_COMPRESSION_RATIO} if unset. */
  readonly maxCompressionRatio?: number
  /** Entries smaller than this are never zip bombs; {@link DEFAULT_COMPRESSION_RATIO_MIN_BYTES} if unset. */
  readonly compressionRatioMinBytes?: number
}

/**
 * Plain text and code compress 3–20 times, repeated log lines about 100; only a long run of one byte
 * pattern (a bomb, or a file of zeros) goes past 200, and deflate cannot go past about 1032. Below
 * 1 MiB nothing is worth the alarm: the total limit bounds the damage anyway.
 */
export const DEFAULT_MAX_COMPRESSION_RATIO = 200
export const DEFAULT_COMPRESSION_RATIO_MIN_BYTES = 1024 * 1024

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

type EntryKind = 'file' | 'directory'

/** One entry that passed validation, with where and how it will be written. */
interface PlannedEntry {
  readonly entry: Entry
  /** The name as it appears in the archive, for messages. */
  readonly name: string
  /** Normalised relative posix path, without trailing slash. */
  readonly path: string
  readonly kind: EntryKind
  readonly mode: number
}

const S_IFMT = 0o170000
const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const S_IFLNK = 0o120000
const FILE_MODE = 0o644
const EXECUTABLE_MODE = 0o755
const DIR_MODE = 0o755
const MAX_SEGMENT_BYTES = 255
const MAX_PATH_BYTES = 1024
const STORED = 0
const DEFLATED = 8
const LOCAL_HEADER_BYTES = 30
// Extra fields that can carry a unix file type or a link target, which the external attributes may not show.
const PKWARE_UNIX_EXTRA = 0x000d
const PKWARE_UNIX_FIXED_BYTES = 12
const ASI_UNIX_EXTRA = 0x756e
const ASI_UNIX_FIXED_BYTES = 14

const ZIP_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and validated here, so that each rejection gets its own code.
  decodeStrings: false,
  validateEntrySizes: true,
  strictFileNames: true,
}

/**
 * Extracts the zip at `zipPath` into `destDir` and returns the task root and its files.
 *
 * `destDir` must be absent or empty; it is created if needed. Regular files are written 0644, or 0755
 * when the zip's unix mode has an executable bit; directories 0755; nothing else is ever created.
 * macOS junk (`__MACOSX/`, `.DS_Store`) is skipped. When everything sits in one top-level folder,
 * that folder is the returned `root`.
 *
 * Rejects with a `TaskArchiveError` for anything unacceptable in the archive. On any failure the
 * destination is restored (emptied again, or removed along with any parents this call created), and
 * the zip file is always closed. Errors that are not the archive's fault (disk full, permissions, a
 * non-empty `destDir`) are rethrown as they are.
 */
export async function extractArchive(
  zipPath: string,
  destDir: string,
  limits: ArchiveLimits,
): Promise<ExtractedArchive> {
  const dest = path.resolve(destDir)
  const zipfile = await openZip(zipPath)
  let restore: (() => Promise<void>) | null = null
  try {
    const plan = await planExtraction(zipfile, limits)
    restore = await prepareDestination(dest)
    const totalBytes = await writeEntries(zipfile, plan, dest, limits)
    return summarise(dest, plan, totalBytes)
  } catch (error) {
    // The archive's error is the one worth reporting; a failed clean-up must not replace it.
    if (restore) await restore().catch(() => undefined)
    throw error
  } finally {
    zipfile.close()
  }
}

async function openZip(zipPath: string): Promise<ZipFile> {
  let zipfile: ZipFile
  try {
    zipfile = await yauzl.openPromise(zipPath, ZIP_OPTIONS)
  } catch (error) {
    if (isSystemError(error)) throw error
    if (await hasZipSignature(zipPath)) {
      const why = messageOf(error)
      throw new TaskArchiveError('corrupt_archive', `The archive is corrupt or truncated: ${why}`)
    }
    throw new TaskArchiveError('not_a_zip', 'The upload is not a zip archive')
  }
  // Errors are reported through the calls that fail; this only keeps a late close error from crashing.
  zipfile.on('error', () => {})
  return zipfile
}

async function hasZipSignature(zipPath: string): Promise<boolean> {
  const handle = await fs.open(zipPath, 'r')
  try {
    const head = Buffer.alloc(4)
    const { bytesRead } = await handle.read(head, 0, 4, 0)
    if (bytesRead < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false
    const marker = head.readUInt16LE(2)
    return marker === 0x0403 || marker === 0x0605 || marker === 0x0807
  } finally {
    await handle.close()
  }
}

/** First pass: reads and validates the whole central directory without writing anything. */
async function planExtraction(zipfile: ZipFile, limits: ArchiveLimits): Promise<PlannedEntry[]> {
  if (zipfile.entryCount > limits.maxEntries) {
    throw new TaskArchiveError(
      'too_many_entries',
      `The archive has ${zipfile.entryCount} entries; at most ${limits.maxEntries} are allowed`,
    )
  }
  if (zipfile.entryCount === 0) throw new TaskArchiveError('empty_archive', 'The archive is empty')

  const plan: PlannedEntry[] = []
  const registry = new PathRegistry()
  const spans: DataSpan[] = []
  let declaredBytes = 0
  let index = 0
  try {
    for await (const entry of zipfile.eachEntry()) {
      index += 1
      // Junk too: an entry that is skipped can still be the other half of an overlap.
      spans.push(dataSpan(entry))
      const planned = planEntry(entry)
      if (!planned) continue
      registry.add(planned)
      declaredBytes += planned.entry.uncompressedSize
      if (declaredBytes > limits.maxUncompressedBytes) throw tooLarge(limits)
      checkRatio(planned, limits)
      plan.push(planned)
    }
  } catch (error) {
    throw centralDirectoryError(error, index + 1)
  }
  checkOverlaps(spans)
  if (!plan.some((p) => p.kind === 'file')) {
    throw new TaskArchiveError('empty_archive', 'The archive contains no files')
  }
  return plan
}

/**
 * The declared ratio is enough: the second pass stops an entry that inflates past its declared size,
 * and reads no more than its declared compressed size, so the real ratio can only be lower.
 */
function checkRatio(planned: PlannedEntry, limits: ArchiveLimits): void {
  const { uncompressedSize, compressedSize } = planned.entry
  const maxRatio = limits.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO
  const minBytes = limits.compressionRatioMinBytes ?? DEFAULT_COMPRESSION_RATIO_MIN_BYTES
  if (planned.kind !== 'file' || uncompressedSize < minBytes) return
  if (uncompressedSize > maxRatio * compressedSize) {
    const ratio = compressedSize === 0 ? 'infinitely' : `${Math.round(uncompressedSize / compressedSize)} times`
    const why = `expands ${ratio} (${compressedSize} to ${uncompressedSize} bytes); at most ${maxRatio} times is allowed`
    throw entryError('zip_bomb', planned.name, why)
  }
}

/** Where an entry's local header and data lie in the zip file, at the least. */
interface DataSpan {
  readonly name: string
  readonly start: number
  readonly end: number
}

function dataSpan(entry: Entry): DataSpan {
  const start = entry.relativeOffsetOfLocalHeader
  // The local header's name and extra field make it longer still; their lengths are not known yet.
  return { name: decodeName(entry), start, end: start + LOCAL_HEADER_BYTES + entry.compressedSize }
}

/**
 * Rejects entries whose data overlap: no zip tool writes them, and overlapping entries that all point at
 * one well-compressed stream are how a small zip expands to terabytes while each entry looks modest.
 */
function checkOverlaps(spans: DataSpan[]): void {
  const sorted = [...spans].sort((a, b) => a.start - b.start)
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!
    const current = sorted[i]!
    if (current.start < previous.end) {
      throw entryError('zip_bomb', current.name, `shares its data with entry ${quote(previous.name)}`)
    }
  }
}

/** Validates one entry; returns `null` for junk that is skipped. */
function planEntry(entry: Entry): PlannedEntry | null {
  const name = decodeName(entry)
  const relPath = normaliseName(name)
  if (isJunk(relPath)) return null
  if (entry.isEncrypted()) {
    throw entryError('encrypted_entry', name, 'is encrypted; upload an unencrypted zip')
  }
  const kind = entryKind(entry, name)
  if (kind === 'file' && entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
    const why = `uses compression method ${entry.compressionMethod}; only stored and deflated are supported`
    throw entryError('unsupported_entry', name, why)
  }
  return { entry, name, path: relPath, kind, mode: kind === 'directory' ? DIR_MODE : fileMode(entry) }
}

function decodeName(entry: Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true)
}

/**
 * Turns an entry name into a relative posix path that cannot leave the destination: rejects absolute
 * and drive paths, `..`, backslashes, control characters and undecodable names; drops `.` and empty
 * segments.
 */
function normaliseName(name: string): string {
  const unsafe = (why: string) => entryError('unsafe_path', name, why)
  if (name.length === 0) throw unsafe('has an empty name')
  // C0 and C1 controls, line and paragraph separators, and the bidi controls that disguise a name.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(name)) {
    throw unsafe('contains a control character')
  }
  if (name.includes('\\')) throw unsafe('contains a backslash')
  if (name.includes('\ufffd')) throw unsafe('is not valid UTF-8')
  if (name.startsWith('/')) throw unsafe('is an absolute path')
  if (/^[A-Za-z]:/.test(name)) throw unsafe('is an absolute Windows path')
  const segments = name.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) throw unsafe('contains a ".." segment')
  if (segments.length === 0) throw unsafe('does not name anything')
  const tooLong = segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)
  if (tooLong) throw unsafe('has a name that is too long')
  const relPath = segments.join('/')
  if (Buffer.byteLength(relPath) > MAX_PATH_BYTES) throw unsafe('has a path that is too long')
  return relPath
}

function isJunk(relPath: string): boolean {
  const [top] = relPath.split('/')
  return top === '__MACOSX' || path.posix.basename(relPath) === '.DS_Store'
}

/**
 * Classifies an entry from its unix mode (when the zip records one), its unix extra fields and its
 * trailing slash. Only regular files and directories pass: a zip has no hard-link type, but a unix
 * extra field can name a link target, and another extractor would make a link of it.
 */
function entryKind(entry: Entry, name: string): EntryKind {
  const type = unixMode(entry) & S_IFMT
  checkType(type, name)
  checkUnixExtraFields(entry, type, name)
  const isDirectory = type === S_IFDIR || name.endsWith('/')
  if (isDirectory && type === S_IFREG) {
    throw entryError('unsupported_entry', name, 'is both a file and a directory')
  }
  if (isDirectory && entry.uncompressedSize > 0) {
    throw entryError('unsupported_entry', name, 'is a directory with content')
  }
  return isDirectory ? 'directory' : 'file'
}

function checkType(type: number, name: string): void {
  if (type === S_IFLNK) throw entryError('symlink', name, 'is a symbolic link')
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    throw entryError('unsupported_entry', name, `is a ${specialTypeName(type)}`)
  }
}

/**
 * PKWARE's unix field (0x000d) ends with a link target (hard or symbolic) or device numbers; ASi's
 * (0x756e) has its own mode and a symbolic link target. Either says the entry is not a plain file.
 */
function checkUnixExtraFields(entry: Entry, type: number, name: string): void {
  for (const field of entry.extraFields) {
    // The mode has passed checkType already: a target here is not a symlink's, so a hard link's or a device's.
    if (field.id === PKWARE_UNIX_EXTRA && field.data.length > PKWARE_UNIX_FIXED_BYTES) {
      throw entryError('unsupported_entry', name, 'is a hard link or device (its unix extra field names a target)')
    }
    if (field.id === ASI_UNIX_EXTRA && field.data.length >= ASI_UNIX_FIXED_BYTES) {
      if (field.data.length > ASI_UNIX_FIXED_BYTES) throw entryError('symlink', name, 'is a symbolic link')
      const asiType = field.data.readUInt16LE(4) & S_IFMT
      checkType(asiType, name)
      if (asiType !== 0 && type !== 0 && asiType !== type) {
        throw entryError('unsupported_entry', name, 'has two different file types')
      }
    }
  }
}

function unixMode(entry: Entry): number {
  return entry.externalFileAttributes >>> 16
}

/** 0755 when the zip marks the file executable for anyone, else 0644; other bits are never kept. */
function fileMode(entry: Entry): number {
  return (unixMode(entry) & 0o111) !== 0 ? EXECUTABLE_MODE : FILE_MODE
}

function specialTypeName(type: number): string {
  const names: Record<number, string> = {
    0o010000: 'named pipe',
    0o020000: 'character device',
    0o060000: 'block device',
    0o140000: 'socket',
  }
  return names[type] ?? `special file (type 0o${type.toString(8)})`
}

/** Tracks the paths an archive creates, to reject duplicates and file/directory clashes. */
class PathRegistry {
  private readonly entries = new Map<string, EntryKind>()
  private readonly dirs = new Set<string>()

  add(planned: PlannedEntry): void {
    const { path: relPath, kind, name } = planned
    if (this.entries.has(relPath)) {
      throw entryError('duplicate_entry', name, 'appears more than once in the archive')
    }
    if (kind === 'file' && this.dirs.has(relPath)) throw clash(name)
    for (const dir of ancestors(relPath)) {
      if (this.entries.get(dir) === 'file') throw clash(name)
      this.dirs.add(dir)
    }
    this.entries.set(relPath, kind)
    if (kind === 'directory') this.dirs.add(relPath)
  }
}

function clash(name: string): TaskArchiveError {
  return entryError('duplicate_entry', name, 'clashes with another entry (file vs directory)')
}

function ancestors(relPath: string): string[] {
  const segments = relPath.split('/')
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'))
}

function centralDirectoryError(error: unknown, entryNumber: number): unknown {
  if (error instanceof TaskArchiveError || isSystemError(error)) return error
  const message = messageOf(error)
  if (/encryption/i.test(message)) {
    const why = `Entry #${entryNumber} uses an encryption that is not supported; upload an unencrypted zip`
    return new TaskArchiveError('encrypted_entry', why)
  }
  const why = `The archive is corrupt at entry #${entryNumber}: ${message}`
  return new TaskArchiveError('corrupt_archive', why)
}

/**
 * Creates `dest` (or checks that it is empty) and returns how to put it back as it was.
 * Throws a plain error when `dest` already has content: that is the caller's mistake.
 */
async function prepareDestination(dest: string): Promise<() => Promise<void>> {
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
async function writeEntries(
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

function corrupt(name: string, why: string): TaskArchiveError {
  return entryError('corrupt_archive', name, why)
}

/** An error about one entry; the message starts with the entry's name, quoted and escaped. */
function entryError(code: TaskArchiveErrorCode, name: string, why: string): TaskArchiveError {
  return new TaskArchiveError(code, `Entry ${quote(name)} ${why}`)
}

function tooLarge(limits: Pick<ArchiveLimits, 'maxUncompressedBytes'>): TaskArchiveError {
  return new TaskArchiveError(
    'too_large_uncompressed',
    `The archive expands to more than ${limits.maxUncompressedBytes} bytes`,
  )
}

function summarise(dest: string, plan: PlannedEntry[], totalBytes: number): ExtractedArchive {
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

function quote(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name
  return JSON.stringify(shown)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Errors from the operating system (disk full, permissions…), as opposed to errors about the archive. */
function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string'
}
