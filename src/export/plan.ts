/**
 * A plan of files: what an export writes, as a list of entries (a path and its content: JSON, text,
 * or a file of ours to copy), made before anything is written. The same plan is written into a
 * directory or streamed as a zip; files are read only as they are written.
 */
import { constants, promises as fs } from 'node:fs'
import path from 'node:path'

/** One file of a plan; `path` is relative, with `/` between its parts. */
export type PlanEntry =
  { path: string; json: unknown } | { path: string; text: string } | { path: string; sourceFile: string }

/** JSON as Harbor writes its own files (indented by four). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 4)
}

/** The text of a JSON or text entry; null for a file to copy. */
export function entryText(entry: PlanEntry): string | null {
  if ('json' in entry) return jsonText(entry.json)
  if ('text' in entry) return entry.text
  return null
}

/** Refuses a path that could leave the plan's directory: absolute, empty parts, `.` or `..`. */
export function checkPlanPath(p: string): string {
  const parts = p.split('/')
  if (p.startsWith('/') || p.includes('\\') || parts.some((s) => s === '' || s === '.' || s === '..'))
    throw new Error(`not a plain relative path: ${JSON.stringify(p)}`)
  return p
}

/**
 * Writes the plan below `dir`, which may exist. Nothing is overwritten: a file that is there
 * already is an error (`EEXIST`). A file to copy must be a regular file (a link is not followed).
 */
export async function writePlan(entries: Iterable<PlanEntry>, dir: string): Promise<void> {
  const made = new Set<string>()
  for (const entry of entries) {
    const target = path.join(dir, ...checkPlanPath(entry.path).split('/'))
    const parent = path.dirname(target)
    if (!made.has(parent)) {
      await fs.mkdir(parent, { recursive: true })
      made.add(parent)
    }
    const text = entryText(entry)
    if (text !== null) await fs.writeFile(target, text, { flag: 'wx' })
    else if ('sourceFile' in entry) await copyRegularFile(entry.sourceFile, target)
  }
}

async function copyRegularFile(source: string, target: string): Promise<void> {
  const stat = await fs.lstat(source)
  if (!stat.isFile()) throw new Error(`${source} is not a regular file`)
  await fs.copyFile(source, target, constants.COPYFILE_EXCL)
}
