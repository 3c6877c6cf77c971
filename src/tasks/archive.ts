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
 *
 * The parts, in archive/: `zip-reader.ts` (yauzl, names, its errors), `entries.ts` (each entry's
 * checks and mode), `limits.ts` (sizes, ratios, overlaps), `plan.ts` (the first pass), `extract.ts`
 * (the second).
 */
import path from 'node:path'
import { prepareDestination, summarise, writeEntries, type ExtractedArchive } from './archive/extract.js'
import type { ArchiveLimits } from './archive/limits.js'
import { planExtraction } from './archive/plan.js'
import { openZip } from './archive/zip-reader.js'

export type { ExtractedArchive } from './archive/extract.js'
export {
  DEFAULT_COMPRESSION_RATIO_MIN_BYTES,
  DEFAULT_MAX_COMPRESSION_RATIO,
  type ArchiveLimits,
} from './archive/limits.js'

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
