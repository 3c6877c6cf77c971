/**
 * A tiny zip writer for tests that need archives no well-behaved library would produce: hostile names,
 * lying sizes or checksums, encryption flags, special file types, link extra fields, odd compression
 * methods, entries that share their data.
 */
import zlib from 'node:zlib'

export interface RawEntry {
  /** Written byte for byte (UTF-8 for strings, with the UTF-8 flag set). */
  readonly name: string | Buffer
  readonly data?: string | Buffer
  /** Unix mode including the type bits (e.g. 0o100755); recorded with "made by UNIX". */
  readonly mode?: number
  /** Deflate the data (method 8) instead of storing it. */
  readonly deflate?: boolean
  /** Overrides the compression method field. */
  readonly method?: number
  /** Sets the traditional-encryption flag (and prefixes a fake 12-byte encryption header). */
  readonly encrypted?: boolean
  /** Extra general purpose flag bits. */
  readonly flags?: number
  /** Lies about the uncompressed size. */
  readonly declaredSize?: number
  /** Lies about the CRC-32. */
  readonly crc32?: number
  /** Extra fields, written in both the local and the central header. */
  readonly extraFields?: ReadonlyArray<{ readonly id: number; readonly data: Buffer }>
  /**
   * Writes no data of its own: the central record points at entry #`sharesDataOf`'s local header and
   * data (overlapping entries, as in non-recursive zip bombs). `data` still sets the declared sizes.
   */
  readonly sharesDataOf?: number
}

export interface RawZipOptions {
  /** Lies about the number of entries in the end record. */
  readonly entryCount?: number
}

const UTF8_FLAG = 0x0800
const ENCRYPTED_FLAG = 0x0001
const MADE_BY_UNIX = (3 << 8) | 20
const MADE_BY_DOS = 20

interface Prepared {
  readonly name: Buffer
  readonly payload: Buffer
  readonly method: number
  readonly flags: number
  readonly crc: number
  readonly size: number
  readonly madeBy: number
  readonly externalAttributes: number
  readonly extra: Buffer
}

/** Builds a zip: local headers with data, then the central directory and the end record. */
export function buildRawZip(entries: RawEntry[], options: RawZipOptions = {}): Buffer {
  const chunks: Buffer[] = []
  const central: Buffer[] = []
  const offsets: number[] = []
  let offset = 0
  for (const entry of entries) {
    const prepared = prepare(entry)
    if (entry.sharesDataOf !== undefined) {
      const shared = offsets[entry.sharesDataOf]
      if (shared === undefined) throw new Error(`sharesDataOf: no entry #${entry.sharesDataOf} before this one`)
      offsets.push(shared)
      central.push(centralHeader(prepared, shared))
      continue
    }
    const local = localHeader(prepared)
    offsets.push(offset)
    central.push(centralHeader(prepared, offset))
    chunks.push(local, prepared.payload)
    offset += local.length + prepared.payload.length
  }
  const directory = Buffer.concat(central)
  const count = options.entryCount ?? entries.length
  return Buffer.concat([...chunks, directory, endRecord(count, directory.length, offset)])
}

function prepare(entry: RawEntry): Prepared {
  const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : entry.name
  const data = Buffer.from(entry.data ?? '')
  let payload = entry.deflate ? zlib.deflateRawSync(data) : data
  if (entry.encrypted) payload = Buffer.concat([Buffer.alloc(12, 0xa5), payload])
  let flags = entry.flags ?? 0
  if (typeof entry.name === 'string') flags |= UTF8_FLAG
  if (entry.encrypted) flags |= ENCRYPTED_FLAG
  return {
    name,
    payload,
    method: entry.method ?? (entry.deflate ? 8 : 0),
    flags,
    crc: entry.crc32 ?? zlib.crc32(data),
    size: entry.declaredSize ?? data.length,
    madeBy: entry.mode === undefined ? MADE_BY_DOS : MADE_BY_UNIX,
    externalAttributes: entry.mode === undefined ? 0 : (entry.mode << 16) >>> 0,
    extra: Buffer.concat((entry.extraFields ?? []).map(extraField)),
  }
}

function extraField(field: { id: number; data: Buffer }): Buffer {
  const header = Buffer.alloc(4)
  header.writeUInt16LE(field.id, 0)
  header.writeUInt16LE(field.data.length, 2)
  return Buffer.concat([header, field.data])
}

/** PKWARE's unix extra field (0x000d): times, ids, then the target of a hard or symbolic link. */
export function pkwareUnixExtra(linkTarget: string): { id: number; data: Buffer } {
  return { id: 0x000d, data: Buffer.concat([Buffer.alloc(12), Buffer.from(linkTarget)]) }
}

/** The ASi unix extra field (0x756e): CRC, mode (with type bits), size/device, ids, symlink target. */
export function asiUnixExtra(mode: number, linkTarget = ''): { id: number; data: Buffer } {
  const fixed = Buffer.alloc(14)
  fixed.writeUInt16LE(mode, 4)
  return { id: 0x756e, data: Buffer.concat([fixed, Buffer.from(linkTarget)]) }
}

function localHeader(p: Prepared): Buffer {
  const header = Buffer.alloc(30)
  header.writeUInt32LE(0x04034b50, 0)
  header.writeUInt16LE(20, 4)
  header.writeUInt16LE(p.flags, 6)
  header.writeUInt16LE(p.method, 8)
  header.writeUInt16LE(0, 10)
  header.writeUInt16LE(0x21, 12)
  header.writeUInt32LE(p.crc, 14)
  header.writeUInt32LE(p.payload.length, 18)
  header.writeUInt32LE(p.size, 22)
  header.writeUInt16LE(p.name.length, 26)
  header.writeUInt16LE(p.extra.length, 28)
  return Buffer.concat([header, p.name, p.extra])
}

function centralHeader(p: Prepared, offset: number): Buffer {
  const header = Buffer.alloc(46)
  header.writeUInt32LE(0x02014b50, 0)
  header.writeUInt16LE(p.madeBy, 4)
  header.writeUInt16LE(20, 6)
  header.writeUInt16LE(p.flags, 8)
  header.writeUInt16LE(p.method, 10)
  header.writeUInt16LE(0, 12)
  header.writeUInt16LE(0x21, 14)
  header.writeUInt32LE(p.crc, 16)
  header.writeUInt32LE(p.payload.length, 20)
  header.writeUInt32LE(p.size, 24)
  header.writeUInt16LE(p.name.length, 28)
  header.writeUInt16LE(p.extra.length, 30)
  header.writeUInt32LE(p.externalAttributes, 38)
  header.writeUInt32LE(offset, 42)
  return Buffer.concat([header, p.name, p.extra])
}

function endRecord(count: number, directorySize: number, directoryOffset: number): Buffer {
  const record = Buffer.alloc(22)
  record.writeUInt32LE(0x06054b50, 0)
  record.writeUInt16LE(count, 8)
  record.writeUInt16LE(count, 10)
  record.writeUInt32LE(directorySize, 12)
  record.writeUInt32LE(directoryOffset, 16)
  return record
}
