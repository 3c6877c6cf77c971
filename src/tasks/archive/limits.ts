/**
 * The archive's limits, and the checks of the first pass that guard them: declared sizes, the
 * compression ratio of each entry, and entries whose data overlap (zip bombs).
 */
import type { Entry } from 'yauzl'
import type { PlannedEntry } from './entries.js'
import { entryError, quote } from './entry-errors.js'
import { decodeName } from './zip-reader.js'

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

/** The fixed part of a local file header. */
const LOCAL_HEADER_BYTES = 30

/**
 * The declared ratio is enough: the second pass stops an entry that inflates past its declared size,
 * and reads no more than its declared compressed size, so the real ratio can only be lower.
 */
export function checkRatio(planned: PlannedEntry, limits: ArchiveLimits): void {
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
export interface DataSpan {
  readonly name: string
  readonly start: number
  readonly end: number
}

export function dataSpan(entry: Entry): DataSpan {
  const start = entry.relativeOffsetOfLocalHeader
  // The local header's name and extra field make it longer still; their lengths are not known yet.
  return { name: decodeName(entry), start, end: start + LOCAL_HEADER_BYTES + entry.compressedSize }
}

/**
 * Rejects entries whose data overlap: no zip tool writes them, and overlapping entries that all point at
 * one well-compressed stream are how a small zip expands to terabytes while each entry looks modest.
 */
export function checkOverlaps(spans: DataSpan[]): void {
  const sorted = [...spans].sort((a, b) => a.start - b.start)
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!
    const current = sorted[i]!
    if (current.start < previous.end) {
      throw entryError('zip_bomb', current.name, `shares its data with entry ${quote(previous.name)}`)
    }
  }
}
