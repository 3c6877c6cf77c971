/**
 * An extracted upload read as what it holds: one task, or a dataset of tasks, each folder a Harbor or
 * Terminal-Bench 1 task (mixed as they come), each detected and its compose files checked.
 *
 * - One task: `task.toml` or `task.yaml` at the archive's root, or inside its single top-level folder,
 *   named as it always was (its own name, else the folder's, else the zip file's).
 * - A dataset: a folder whose direct subfolders are tasks, at the archive's root or inside its single
 *   top-level folder, which then names the dataset; else the zip file does. (`dataset/layout.ts` says
 *   which, the way `harbor run -p` does.)
 *
 * A dataset is refused as a whole when any part of it is: a subfolder that is not a task, a task that
 * fails its format's or the sandbox policy's checks, two tasks of one name, more tasks than the limit.
 * Every refusal about one task names its folder: its message begins `task "<folder>": ` and its `task`
 * is the folder, the code being the one the task's own check gave.
 */
import path from 'node:path'
import type { ComposeRule } from '../shared/compose-rules.js'
import { quote } from './archive/entry-errors.js'
import { checkTaskComposeFiles } from './compose/files.js'
import { findLayout } from './dataset/layout.js'
import { TaskArchiveError } from './errors.js'
import { detectTask, sanitiseTaskName, type DetectedTask } from './task-format.js'

export interface UploadedTaskDir {
  /** Absolute path of the task's directory. */
  readonly root: string
  /**
   * The task's folder: in a dataset, its subfolder's name (one path segment); for one task, the
   * archive's top-level folder, or `''` when the task is at the archive's root.
   */
  readonly folder: string
  readonly detected: DetectedTask
}

export interface DetectedUpload {
  readonly kind: 'task' | 'dataset'
  /** The task's name (`detected.name`), or the dataset's: its folder's name, else the zip file's. */
  readonly name: string
  /** The one task, or the dataset's tasks in the order of their folders' names. */
  readonly tasks: UploadedTaskDir[]
}

export interface DetectUploadOptions {
  /** The uploaded file's name, as the client gave it; `.zip` is dropped. */
  readonly fileName: string
  /** The most tasks a dataset may hold (DATASET_MAX_TASKS). */
  readonly maxTasks: number
  /** Rules of the task sandbox policy relaxed by the operator (TASK_COMPOSE_ALLOW). */
  readonly composeAllow: readonly ComposeRule[]
}

const DEFAULT_DATASET_NAME = 'dataset'

/**
 * Reads the upload extracted at `archive.root` (`topLevelDir`: its single top-level folder, as
 * `extractArchive` returns them). Rejects with {@link TaskArchiveError}: the task's own errors for one
 * task, as before; for a dataset, `too_many_tasks` past `maxTasks`, `unknown_task_format` for a
 * subfolder without a task config, `duplicate_task_name` for two tasks of one name, and each task's
 * errors with its folder (see the module's comment); `unknown_task_format` when it holds no task at all.
 */
export async function detectUpload(
  archive: { readonly root: string; readonly topLevelDir: string | null },
  options: DetectUploadOptions,
): Promise<DetectedUpload> {
  const layout = await findLayout(archive)
  const fileName = path.basename(options.fileName).replace(/\.zip$/i, '')
  if (layout.kind === 'task') {
    const task = await readTask(layout.root, layout.folder ?? '', layout.folder ?? fileName, options)
    return { kind: 'task', name: task.detected.name, tasks: [task] }
  }
  if (layout.tasks.length === 0) throw noTask()
  if (layout.tasks.length > options.maxTasks) throw tooManyTasks(layout.tasks.length, options.maxTasks)
  const [other] = layout.others
  if (other !== undefined) throw notATask(other)
  const tasks = await readDatasetTasks(layout.root, layout.tasks, options)
  const name = sanitiseTaskName(layout.folder ?? fileName) ?? DEFAULT_DATASET_NAME
  return { kind: 'dataset', name, tasks }
}

/** Each task folder read in turn, every error naming its folder; two tasks may not share a name. */
async function readDatasetTasks(root: string, folders: string[], options: DetectUploadOptions) {
  const tasks: UploadedTaskDir[] = []
  const folderOf = new Map<string, string>()
  for (const folder of folders) {
    const task = await inTask(folder, () => readTask(path.join(root, folder), folder, folder, options))
    const earlier = folderOf.get(task.detected.name)
    if (earlier !== undefined) throw duplicateName(task.detected.name, earlier, folder)
    folderOf.set(task.detected.name, folder)
    tasks.push(task)
  }
  return tasks
}

async function readTask(root: string, folder: string, fallbackName: string, options: DetectUploadOptions) {
  const detected = await detectTask(root, { fallbackName })
  // Before anything reads the task's compose files (a conversion copies its build contexts).
  await checkTaskComposeFiles(root, detected.format, { allow: options.composeAllow })
  return { root, folder, detected }
}

/** Runs one task's checks; a rejection keeps its code and gains the task's folder. */
async function inTask<T>(folder: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (error) {
    if (!(error instanceof TaskArchiveError)) throw error
    throw taskError(error.code, folder, error.message, error)
  }
}

/** A rejection about one task of a dataset: its folder named first, and as `task`. */
function taskError(code: TaskArchiveError['code'], folder: string, message: string, cause?: TaskArchiveError) {
  const options = cause === undefined ? { task: folder } : { task: folder, cause }
  return new TaskArchiveError(code, `task ${quote(folder)}: ${message}`, options)
}

function noTask(): TaskArchiveError {
  return new TaskArchiveError(
    'unknown_task_format',
    'The archive holds no task: a task has task.toml (Harbor) or task.yaml (Terminal-Bench) at the ' +
      "archive's root or inside its single top-level folder; a dataset is a folder (the root, or the " +
      'single top-level folder) whose subfolders are each such a task',
  )
}

function notATask(folder: string): TaskArchiveError {
  return taskError(
    'unknown_task_format',
    folder,
    'the folder has neither task.toml (Harbor) nor task.yaml (Terminal-Bench); ' +
      'every folder of a dataset must be a task',
  )
}

function tooManyTasks(count: number, max: number): TaskArchiveError {
  return new TaskArchiveError('too_many_tasks', `The dataset has ${count} tasks; at most ${max} are allowed`)
}

function duplicateName(name: string, earlier: string, folder: string): TaskArchiveError {
  return taskError(
    'duplicate_task_name',
    folder,
    `its name ${quote(name)} is already task ${quote(earlier)}'s; each task of a dataset needs its own name`,
  )
}
