/**
 * An upload unpacked: the archive read by the safe reader, and its task found and detected, its
 * compose files checked against the sandbox policy. Every refusal is an `ApiError` on the `file`
 * field; one about a task of a dataset names that task.
 */
import path from 'node:path'
import type { UploadedTask } from '../../harness/harness.js'
import { extractArchive } from '../../tasks/archive.js'
import { checkTaskComposeFiles } from '../../tasks/compose/files.js'
import { TaskArchiveError, httpStatusFor } from '../../tasks/errors.js'
import { detectTask } from '../../tasks/task-format.js'
import type { LimitsConfig, TasksConfig } from '../../config/limits.js'
import { ApiError } from '../errors.js'

export interface UnpackedTask extends UploadedTask {
  name: string
  /** How errors name it: its folder in a dataset; null for a single task. */
  label: string | null
}

export interface UnpackedUpload {
  /** The job's name: the task's, or the dataset's. */
  name: string
  tasks: UnpackedTask[]
}

export interface UnpackDeps {
  limits: Pick<LimitsConfig, 'uploadEntries' | 'uploadUncompressedBytes' | 'uploadCompressionRatio'>
  composeAllow: TasksConfig['composeAllow']
}

export function unpackUpload(
  deps: UnpackDeps,
  input: { archive: { path: string; filename: string }; workDir: string },
): Promise<UnpackedUpload> {
  const { limits } = deps
  return checkTask(null, async () => {
    const archive = await extractArchive(input.archive.path, path.join(input.workDir, 'extract'), {
      maxEntries: limits.uploadEntries,
      maxUncompressedBytes: limits.uploadUncompressedBytes,
      maxCompressionRatio: limits.uploadCompressionRatio,
    })
    // A task zipped as its folder is named after the folder, else after the zip file.
    const fallbackName = archive.topLevelDir ?? path.basename(input.archive.filename).replace(/\.zip$/i, '')
    const detected = await detectTask(archive.root, { fallbackName })
    // Before anything reads the task's compose files (a conversion copies its build contexts).
    await checkTaskComposeFiles(archive.root, detected.format, { allow: deps.composeAllow })
    return { name: detected.name, tasks: [{ ...detected, root: archive.root, label: null }] }
  })
}

/** Runs a task check, turning its rejection into the API's error (naming the dataset's task `label`). */
export async function checkTask<T>(label: string | null, check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (err) {
    if (err instanceof TaskArchiveError) {
      const message = label === null ? err.message : `task "${label}": ${err.message}`
      throw new ApiError(httpStatusFor(err.code), err.code, message, 'file')
    }
    throw err
  }
}
