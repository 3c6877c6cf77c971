/**
 * An upload unpacked: the archive read by the safe reader, and its task or its dataset's tasks found
 * and detected (tasks/dataset.ts), their compose files checked against the sandbox policy. Every refusal is an `ApiError` on the `file`
 * field; one about a task of a dataset names that task.
 */
import path from 'node:path'
import type { UploadedTask } from '../../harness/harness.js'
import { extractArchive } from '../../tasks/archive.js'
import { detectUpload } from '../../tasks/dataset.js'
import { TaskArchiveError, httpStatusFor } from '../../tasks/errors.js'
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
  limits: Pick<LimitsConfig, 'uploadEntries' | 'uploadUncompressedBytes' | 'uploadCompressionRatio' | 'tasksPerDataset'>
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
    // Before anything reads a task's compose files (a conversion copies its build contexts), they are
    // checked here too.
    const upload = await detectUpload(archive, {
      fileName: input.archive.filename,
      maxTasks: limits.tasksPerDataset,
      composeAllow: deps.composeAllow,
    })
    return {
      name: upload.name,
      tasks: upload.tasks.map((t) => ({
        format: t.detected.format,
        name: t.detected.name,
        root: t.root,
        label: upload.kind === 'dataset' ? t.folder : null,
      })),
    }
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
