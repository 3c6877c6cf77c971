/**
 * Where the tasks of an extracted upload are: one task, or a dataset (a folder whose direct subfolders
 * are tasks), the way `harbor run -p <dir>` tells them apart: a directory with a task config is a
 * task, any other is a dataset of its subfolders. Unlike Harbor, which skips a subfolder that is not a
 * task, the subfolders that are not are returned, so that the upload can be refused naming them.
 *
 * Hidden entries (`.git/`, `.github/`, `.gitignore`) and `__MACOSX/` are never tasks and never count;
 * plain files beside the task folders (a README, a registry file) are ignored. Only what this module
 * reads is decided here: whether each task is complete is the format detection's business.
 */
import type { Dirent } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

/** The files whose presence makes a directory a task: Harbor's, then Terminal-Bench 1's. */
export const TASK_CONFIG_FILES = ['task.toml', 'task.yaml'] as const

export type UploadLayout =
  | { readonly kind: 'task'; readonly root: string; readonly folder: string | null }
  | {
      readonly kind: 'dataset'
      readonly root: string
      readonly folder: string | null
      /** Subfolders of `root` with a task config, sorted. */
      readonly tasks: string[]
      /** Visible subfolders of `root` without one, sorted. */
      readonly others: string[]
    }

/**
 * The layout of an extracted upload. `root` is where the archive put it (its single top-level folder,
 * `topLevelDir`, when it has one). When it has not, but every entry beside one folder is hidden, that
 * folder is taken as the top-level one. `folder` is the top-level folder's name, `null` when there is
 * none: it names a dataset, or is the fallback name of a task.
 */
export async function findLayout(archive: { root: string; topLevelDir: string | null }): Promise<UploadLayout> {
  const { root, folder } = await topFolder(archive)
  if (await isTask(root)) return { kind: 'task', root, folder }
  const tasks: string[] = []
  const others: string[] = []
  for (const name of await visibleFolders(root)) {
    if (await isTask(path.join(root, name))) tasks.push(name)
    else others.push(name)
  }
  return { kind: 'dataset', root, folder, tasks, others }
}

/**
 * The archive's top-level folder, or the one visible folder when hidden entries sit beside it. (A task
 * at the archive's root has a visible task config there, so it never has a sole visible folder.)
 */
async function topFolder(archive: { root: string; topLevelDir: string | null }) {
  if (archive.topLevelDir !== null) return { root: archive.root, folder: archive.topLevelDir }
  const sole = await soleVisibleFolder(archive.root)
  if (sole === null) return { root: archive.root, folder: null }
  return { root: path.join(archive.root, sole), folder: sole }
}

/** Whether `dir` has a task config as a regular file (a link does not count). */
export async function isTask(dir: string): Promise<boolean> {
  for (const name of TASK_CONFIG_FILES) {
    const stats = await fs.lstat(path.join(dir, name)).catch(absent)
    if (stats?.isFile()) return true
  }
  return false
}

/** The names of the visible directories directly in `dir`, sorted. */
async function visibleFolders(dir: string): Promise<string[]> {
  const entries = await visibleEntries(dir)
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
}

/** The one visible entry of `dir` when it is a directory, else `null`. */
async function soleVisibleFolder(dir: string): Promise<string | null> {
  const entries = await visibleEntries(dir)
  const [only] = entries
  return entries.length === 1 && only?.isDirectory() ? only.name : null
}

async function visibleEntries(dir: string): Promise<Dirent[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true })
  return entries.filter((e) => !isHidden(e.name))
}

function isHidden(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX'
}

function absent(error: unknown): null {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return null
  throw error
}
