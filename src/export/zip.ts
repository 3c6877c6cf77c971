/**
 * A plan streamed as a zip: the archive is made as its reader takes it (JSZip stops while the
 * stream's buffer is full) and never held whole in memory. Each entry's content is opened only when
 * the archive reaches it (JSZip takes its entries one at a time), so a plan of thousands of files
 * holds one file open at a time. Also for any list of files to download as one zip (a run's
 * artifacts).
 */
import { createReadStream, promises as fs } from 'node:fs'
import { Readable } from 'node:stream'
import JSZip from 'jszip'
import { checkPlanPath, entryText, type PlanEntry } from './plan.js'

/** The zip of `entries`, as a Node stream (for a web `Response`: `Readable.toWeb(zipPlan(…))`). */
export function zipPlan(entries: Iterable<PlanEntry>): Readable {
  const zip = new JSZip()
  for (const entry of entries) zip.file(checkPlanPath(entry.path), lazyContent(entry), { binary: true })
  const stream = zip.generateNodeStream({ type: 'nodebuffer', streamFiles: true, compression: 'DEFLATE' })
  // JSZip's stream is an old-style Node stream: wrapped, it is a Readable like any other.
  return new Readable().wrap(stream)
}

/** The entry's bytes, made when first read. */
function lazyContent(entry: PlanEntry): Readable {
  return Readable.from(
    (async function* () {
      const text = entryText(entry)
      if (text !== null) {
        yield Buffer.from(text)
        return
      }
      if (!('sourceFile' in entry)) return
      const stat = await fs.lstat(entry.sourceFile)
      if (!stat.isFile()) throw new Error(`${entry.sourceFile} is not a regular file`)
      yield* createReadStream(entry.sourceFile)
    })(),
    { objectMode: false },
  )
}
