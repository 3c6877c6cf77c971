/**
 * An attempt's output copied from its host into the data dir, where it is kept (and served as the
 * run's artifacts). What the harness left is not trusted (a task's container writes into it): the
 * host copies regular files and directories only, never through a link, with plain modes, and
 * within the limits (ARTIFACT_MAX_BYTES, ARTIFACT_MAX_FILES) as it copies. Whatever it left out is
 * named in a note beside the output (`TRUNCATED.txt` for the limits, `NOT-COPIED.txt` for links,
 * special files and files too large), and said once in the run's log. Then every file is scrubbed
 * of the job's key.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import pathPosix from 'node:path/posix'
import type { Db } from '../db/database.js'
import { appendRunnerLineOnce } from '../db/run-logs.js'
import type { CopyReport, ExecutionHost, LeftOutWhy } from '../hosts/execution-host.js'
import type { Scrubber } from '../secrets/scrub.js'

/** Files above this size are not scrubbed of secrets, so they are not kept. */
export const MAX_SCRUBBED_FILE_BYTES = 32 * 1024 * 1024

/** What is collected of one attempt's output at most (see the config's limits). */
export interface ArtifactLimits {
  maxBytes: number
  maxFiles: number
}

export const TRUNCATED_NOTE = 'TRUNCATED.txt'
export const NOT_COPIED_NOTE = 'NOT-COPIED.txt'

const WHY: Record<LeftOutWhy, string> = {
  link: 'a symbolic link (never followed)',
  special: 'not a regular file (a FIFO, socket or device)',
  'too large': `larger than ${MAX_SCRUBBED_FILE_BYTES} bytes (too large to check for secrets)`,
  'over the byte limit': 'past the byte limit',
}

export interface CollectTarget {
  db: Db
  host: ExecutionHost
  runId: string
  attempt: number
  scrub: Scrubber
  limits: ArtifactLimits
}

/**
 * Copies the output directory `rel` into `localOutput` (inside the attempt's artifacts dir `local`),
 * writes the notes and the run's log lines about what was left out. A missing output directory is
 * no error (the harness may have failed before making it).
 */
export async function collectOutput(t: CollectTarget, rel: string, local: string, localOutput: string): Promise<void> {
  let report: CopyReport
  try {
    report = await t.host.getDirectory(rel, localOutput, {
      maxBytes: t.limits.maxBytes,
      maxFiles: t.limits.maxFiles,
      maxFileBytes: MAX_SCRUBBED_FILE_BYTES,
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  const output = pathPosix.basename(rel)
  const inOutput = (p: string) => `${output}/${p}`
  const cut = report.leftOut.filter((l) => l.why === 'over the byte limit')
  const skipped = report.leftOut.filter((l) => l.why !== 'over the byte limit')
  if (report.stoppedAt !== null || cut.length > 0) {
    const lines = [
      `The output of this attempt was cut when it was collected (ARTIFACT_MAX_FILES=${t.limits.maxFiles}, ARTIFACT_MAX_BYTES=${t.limits.maxBytes}).`,
      `Copied: ${report.files} files, ${report.bytes} bytes.`,
      ...(report.stoppedAt !== null
        ? [`The copy stopped after looking at ${report.stoppedAt} entries: nothing after them was copied.`]
        : []),
      ...(cut.length > 0
        ? ['Left out, the byte limit being reached:', ...cut.map((l) => `  ${inOutput(l.path)}`)]
        : []),
      ...moreThanListed(report),
    ]
    await fs.writeFile(path.join(local, TRUNCATED_NOTE), lines.join('\n') + '\n')
    await appendRunnerLineOnce(
      t.db,
      t.runId,
      t.attempt,
      'runner:artifacts-cut',
      t.scrub(
        report.stoppedAt !== null
          ? `the attempt's output was cut at ${report.stoppedAt} files (ARTIFACT_MAX_FILES) when collected: see ${TRUNCATED_NOTE} in the run's artifacts`
          : `the attempt's output was cut at ${t.limits.maxBytes} bytes (ARTIFACT_MAX_BYTES) when collected: see ${TRUNCATED_NOTE} in the run's artifacts`,
      ),
    )
  }
  if (skipped.length > 0) {
    const lines = [
      "Not copied from the attempt's output (only regular files and directories are, and no link is followed):",
      ...skipped.map((l) => `  ${inOutput(l.path)}: ${WHY[l.why]}`),
      ...moreThanListed(report),
    ]
    await fs.writeFile(path.join(local, NOT_COPIED_NOTE), lines.join('\n') + '\n')
    const first = skipped[0]!
    await appendRunnerLineOnce(
      t.db,
      t.runId,
      t.attempt,
      'runner:artifacts-not-copied',
      t.scrub(
        `${inOutput(first.path)} is ${WHY[first.why]}: not copied` +
          (skipped.length > 1 ? `, nor ${skipped.length - 1} more like it` : '') +
          ` (see ${NOT_COPIED_NOTE} in the run's artifacts)`,
      ),
    )
  }
}

function moreThanListed(report: CopyReport): string[] {
  const more = report.leftOutCount - report.leftOut.length
  return more > 0 ? [`… and ${more} more left out, not listed.`] : []
}

/** Replaces secrets in every file below `dir`; drops files too large to check, leaving a note. */
export async function scrubTree(dir: string, scrub: Scrubber): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const { size } = await fs.lstat(file)
    if (size > MAX_SCRUBBED_FILE_BYTES) {
      await fs.rm(file)
      await fs.writeFile(
        `${file}.omitted.txt`,
        `${entry.name} (${size} bytes) was too large to check for secrets and was not kept\n`,
      )
      continue
    }
    // latin1 maps bytes one to one, so binary files come back unchanged.
    const text = await fs.readFile(file, 'latin1')
    const clean = scrub(text)
    if (clean !== text) await fs.writeFile(file, clean, 'latin1')
  }
}
