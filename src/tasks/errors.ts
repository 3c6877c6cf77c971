/**
 * Errors raised while accepting an uploaded task archive. Every rejection carries a machine-readable
 * `code` (stable, part of the API) and a human message that names the offending entry or file.
 */

/** Every reason an uploaded task can be rejected. Closed: the API maps each one to an HTTP status. */
export const TASK_ARCHIVE_ERROR_CODES = [
  'not_a_zip',
  'corrupt_archive',
  'unsafe_path',
  'symlink',
  'unsupported_entry',
  'too_many_entries',
  'too_large_uncompressed',
  'zip_bomb',
  'encrypted_entry',
  'duplicate_entry',
  'empty_archive',
  'unknown_task_format',
  'missing_task_file',
  'invalid_task_file',
  'invalid_task',
  'task_compose_forbidden',
  'unsupported_task_format',
  'too_many_tasks',
  'duplicate_task_name',
] as const

export type TaskArchiveErrorCode = (typeof TASK_ARCHIVE_ERROR_CODES)[number]

/**
 * A rejected upload. The message is safe to show to the uploader; it never contains server paths.
 * `task` names the dataset's task folder at fault (the message then begins `task "<folder>": `), or is
 * `null` when the rejection is about the whole upload.
 */
export class TaskArchiveError extends Error {
  override readonly name = 'TaskArchiveError'
  readonly task: string | null

  constructor(
    readonly code: TaskArchiveErrorCode,
    message: string,
    options?: { cause?: unknown; task?: string },
  ) {
    super(message, options)
    this.task = options?.task ?? null
  }
}

export function isTaskArchiveError(error: unknown): error is TaskArchiveError {
  return error instanceof TaskArchiveError
}

/**
 * The HTTP status for a rejection: 413 when a size, entry or task limit is exceeded (a zip bomb expands
 * past the compression ratio limit, or expands the same bytes several times), 400 when the upload is not a
 * readable zip at all, 422 when it is a readable zip whose content is not acceptable.
 */
export function httpStatusFor(code: TaskArchiveErrorCode): 400 | 413 | 422 {
  switch (code) {
    case 'too_many_entries':
    case 'too_many_tasks':
    case 'too_large_uncompressed':
    case 'zip_bomb':
      return 413
    case 'not_a_zip':
    case 'corrupt_archive':
      return 400
    default:
      return 422
  }
}
