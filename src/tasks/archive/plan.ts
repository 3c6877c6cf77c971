/** The first pass: the whole central directory read and checked before anything touches the disk. */
import type { ZipFile } from 'yauzl'
import { TaskArchiveError } from '../errors.js'
import { PathRegistry, planEntry, type PlannedEntry } from './entries.js'
import { tooLarge } from './entry-errors.js'
import { checkOverlaps, checkRatio, dataSpan, type ArchiveLimits, type DataSpan } from './limits.js'
import { centralDirectoryError } from './zip-reader.js'

/** First pass: reads and validates the whole central directory without writing anything. */
export async function planExtraction(zipfile: ZipFile, limits: ArchiveLimits): Promise<PlannedEntry[]> {
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
