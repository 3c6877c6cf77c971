/**
 * Each entry of the central directory checked on its own and against the others: a safe relative
 * name, a regular file or a directory only (no link, device or hard link, however the zip says it),
 * a supported compression, no duplicates or file/directory clashes; and the mode it is written with.
 */
import path from 'node:path'
import type { Entry } from 'yauzl'
import type { TaskArchiveError } from '../errors.js'
import { entryError } from './entry-errors.js'
import { decodeName } from './zip-reader.js'

export type EntryKind = 'file' | 'directory'

/** One entry that passed validation, with where and how it will be written. */
export interface PlannedEntry {
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
export const DIR_MODE = 0o755
const MAX_SEGMENT_BYTES = 255
const MAX_PATH_BYTES = 1024
const STORED = 0
const DEFLATED = 8
// Extra fields that can carry a unix file type or a link target, which the external attributes may not show.
const PKWARE_UNIX_EXTRA = 0x000d
const PKWARE_UNIX_FIXED_BYTES = 12
const ASI_UNIX_EXTRA = 0x756e
const ASI_UNIX_FIXED_BYTES = 14

/** Validates one entry; returns `null` for junk that is skipped. */
export function planEntry(entry: Entry): PlannedEntry | null {
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
export class PathRegistry {
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

export function ancestors(relPath: string): string[] {
  const segments = relPath.split('/')
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'))
}
